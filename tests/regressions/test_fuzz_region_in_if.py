"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "region_in_if"); fixed in regions.py for loops,
scopes and spmd in an arm (names local to them are undefined after the if); the pl.at scalar case in
outline.py (a kernel region's result nothing uses is not an output, and the region's own yield is not a
use outside the kernel).

An arm of an `if` on a traced scalar that contains a loop or a region fails to trace. rewrite.py turns
each arm into a function returning *every* name the arm assigns, so names that only live inside a
region of the arm are read after that region closed:
  * `for i in pl.range(...)` / `pl.parallel` in the arm: the loop index (and loop-local tiles) -
    "the tensor index created at ... belongs to the loop ... and is used after it";
  * `with pl.scope()` creating a tensor in the arm - "belongs to the pl.scope ... used after it";
  * `for b in pl.spmd(n)` in the arm - "the tensor index ... belongs to the pl.spmd region";
  * `with pl.at()` reading a scalar in the arm - "a scalar computed inside a kernel is used outside it".
None of these names is used after the `if`; the user program is valid.

Right behaviour: the arm yields only names that are visible after it (or names that are unusable stay
undefined after the `if`, like a name assigned in only one arm); each program gives the sequential
result.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlSyntaxError
from pto.passes.pipeline import compile_function
from regression_helpers import assert_bitwise, assert_error_at, ints

X, N, OUT = pl.Tensor[[2, 8], pl.FP32], pl.Scalar[pl.INT32], pl.Out[pl.Tensor[[2, 8], pl.FP32]]


@pl.jit
def loop_in_arm(x: X, tab: pl.Tensor[[1, 1], pl.INT32], n: N, out: OUT):
    out[:, :] = x
    if n > 0:
        for i in pl.range(2):
            out[i : i + 1, :] = pl.add(x[i : i + 1, :], 1.0)


@pl.jit
def scope_in_arm(x: X, tab: pl.Tensor[[1, 1], pl.INT32], n: N, out: OUT):
    out[:, :] = x
    if n > 0:
        with pl.scope():
            tmp = pl.create_tensor([2, 8], pl.FP32)
            tmp[:, :] = pl.add(x, 1.0)
            out[:, :] = tmp


@pl.jit
def spmd_in_arm(x: X, tab: pl.Tensor[[1, 1], pl.INT32], n: N, out: OUT):
    out[:, :] = x
    if n > 0:
        for b in pl.spmd(2):
            out[b : b + 1, :] = pl.add(x[b : b + 1, :], 1.0)


@pl.jit
def kernel_scalar_in_arm(x: X, tab: pl.Tensor[[1, 1], pl.INT32], n: N, out: OUT):
    out[:, :] = x
    if n > 0:
        with pl.at(name_hint="k"):
            k = pl.read(tab, [0, 0])
            out[:, :] = pl.add(x, pl.cast(k, pl.FP32))


@pl.jit
def kernel_scalar_used_after_the_if(x: X, tab: pl.Tensor[[1, 1], pl.INT32], n: N, out: OUT):
    k = pl.read(tab, [0, 0])
    if n > 0:
        with pl.at(name_hint="k"):
            k = pl.read(tab, [0, 0])  # ERROR-LINE used-after
            out[:, :] = pl.add(x, pl.cast(k, pl.FP32))
    pl.write(out, [0, 0], pl.cast(k, pl.FP32))


@pytest.mark.parametrize("kernel", [loop_in_arm, scope_in_arm, spmd_in_arm, kernel_scalar_in_arm])
@pytest.mark.parametrize("n", [1, 0])
def test_region_in_an_arm_of_a_traced_if(kernel, n):
    x, tab = ints((2, 8), seed=3), np.ones((1, 1), np.int32)
    out = np.zeros((2, 8), np.float32)
    kernel(x, tab, n, out)
    assert_bitwise(out, x + np.float32(1.0) if n > 0 else x)


def test_a_kernel_scalar_used_after_the_if_is_still_rejected_at_its_line():
    args = ints((2, 8)), np.ones((1, 1), np.int32), 1, np.zeros((2, 8), np.float32)
    with pytest.raises(PlSyntaxError) as e:
        compile_function(kernel_scalar_used_after_the_if.compile(*args).function)
    assert_error_at(e, PlSyntaxError, "used-after", __file__, "scalar computed inside a kernel")
