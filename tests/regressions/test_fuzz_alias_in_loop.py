"""Found while minimizing a differential-fuzzer failure (`pto.fuzz`, seed 0 program 32). A silent wrong
answer of the *tracer*: the reference interpreter and the compiled program agree, on the wrong program.

In a loop, `acc = v` (rebinding a carried name to another traced value made before the loop) is lost: the
loop yields its own block argument, so `acc` keeps its value from before the loop. regions.py's loop
tracing takes the handle that the name holds after the discovery trace - which, after `acc = v`, is `v`'s
own handle object - and `_rebind`s *that* to the loop's block argument, so in the real trace `v` denotes
the carried value and `acc = v` assigns it to itself. The same with `v` a view of a parameter or a tile,
and with `v` made in an enclosing loop's body.

Two carried names sharing one handle (`a = a + 1; b = a`) had the same fault: both names were rebound
through one object, so `a` read `b`'s block argument. And a carried scalar kept the affine form of the
value it held in the discovery trace, so slice sizes were computed from a stale value.

Fixed in regions.py (`_own_handles`): a carried name whose handle is older than the trace of the body,
or shared with another carried name, gets a handle object of its own (`source.set_local`), before the
body and after the loop; a rebound scalar drops its affine form.

Right behaviour: the sequential Python meaning - after the loop `acc` is `v` (row 1 of x; in the nest,
the last outer iteration's row 2), `v` itself is unchanged, and a slice whose size changes with the
iteration is rejected.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlTypeError
from regression_helpers import assert_bitwise, assert_error_at, ints


@pl.jit
def alias_a_tile(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    v = pl.add(x[1:2, :], 0.0)
    for k in pl.range(2):
        acc = v
    out[:, :] = acc


@pl.jit
def alias_a_view(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    v = x[1:2, :]
    for k in pl.range(2):
        acc = v
    out[:, :] = acc


@pl.jit
def alias_in_a_nest(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    for i in pl.range(2):
        v = x[i + 1 : i + 2, :]
        for k in pl.range(2):
            acc = v
    out[:, :] = acc


@pl.jit
def alias_then_use_v(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    v = pl.add(x[1:2, :], 0.0)
    for k in pl.range(2):
        acc = v
        acc = pl.add(acc, 1.0)
    out[0:1, :] = acc
    out[1:2, :] = v  # still row 1: the loop rebinding `acc` must not touch `v`


@pl.jit
def two_names_one_handle(x: pl.Tensor[[2, 8], pl.FP32], first: pl.Out[pl.Tensor[[2, 8], pl.FP32]],
                         last: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    a = pl.add(x, 0.0)
    b = pl.add(x, 5.0)
    for k in pl.range(3):
        first[:, :] = b
        a = pl.add(a, 1.0)
        b = a
    last[:, :] = a


@pl.jit
def growing_slice(x: pl.Tensor[[1, 64], pl.FP32], tab: pl.Tensor[[1, 1], pl.INT32],
                  out: pl.Out[pl.Tensor[[1, 16], pl.FP32]]):
    n = pl.read(tab, [0, 0])
    end = n + 8
    for k in pl.range(2):
        end = end + 8
        out[:, :] = x[:, n : end]  # ERROR-LINE growing


@pytest.mark.parametrize("kernel, row", [(alias_a_tile, 1), (alias_a_view, 1), (alias_in_a_nest, 2)])
def test_rebinding_a_carried_name_to_another_value_in_a_loop(kernel, row):
    x = ints((4, 8), seed=10)
    out = np.zeros((1, 8), np.float32)
    kernel(x, out)
    assert_bitwise(out, x[row : row + 1])


def test_rebinding_to_an_outer_value_leaves_that_value_alone():
    x = ints((4, 8), seed=11)
    out = np.zeros((2, 8), np.float32)
    alias_then_use_v(x, out)
    assert_bitwise(out, np.concatenate([x[1:2] + np.float32(1.0), x[1:2]]))


def test_two_carried_names_sharing_a_handle_keep_their_own_values():
    x = ints((2, 8), seed=12)
    first, last = np.zeros((2, 8), np.float32), np.zeros((2, 8), np.float32)
    two_names_one_handle(x, first, last)
    # iteration k writes b (x + 5, then x + 1, then x + 2) and ends with a = b = x + k + 1
    assert_bitwise(first, x + np.float32(2.0))
    assert_bitwise(last, x + np.float32(3.0))


def test_a_carried_scalar_does_not_keep_its_first_affine_form():
    # `x[:, n : end]` is 8 wide in iteration 0 and 16 wide in iteration 1: not a static size
    with pytest.raises(PlTypeError) as e:
        growing_slice.compile(np.zeros((1, 64), np.float32), np.zeros((1, 1), np.int32),
                              np.zeros((1, 16), np.float32))
    assert_error_at(e, PlTypeError, "growing", __file__, "compile-time constant")
