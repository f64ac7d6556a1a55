"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "if_in_kernel"); fixed in outline.py: a value
leaving a kernel that is not purely a version of a buffer the kernel writes is materialized like a tile.

Inside a `pl.at` kernel, an `if` on a traced scalar that reassigns a name holding memory - a view of a
parameter or scratch buffer, or a tile a loop carried (outline demotes it to a buffer) - in one arm and
leaves it in the other, when that name is used after the kernel, crashes the outliner with an internal
error: "AssertionError: escaping value Value(acc: fp32[2, 8]) is not an output of kernel k".
`_KernelBuilder.result_index` follows the `pl.if`'s yields to their roots, finds the buffer the kernel
only reads (an `in` parameter), and no kernel output stands for it; the merged value is a tile that
should have been materialized like any other tile leaving a kernel. (Without the `pl.at`, or when the
merged name is not used after the kernel, the same programs work.)

Right behaviour: the programs compile; the compiled result equals the reference for both branches.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, ints

X, N, OUT = pl.Tensor[[2, 8], pl.FP32], pl.Scalar[pl.INT32], pl.Out[pl.Tensor[[2, 8], pl.FP32]]


@pl.jit
def view_merged_in_kernel(x: X, n: N, out: OUT):
    acc = x[0:2, :]
    with pl.at(name_hint="k"):
        if n > 0:
            acc = pl.add(acc, 1.0)
    out[:, :] = acc


@pl.jit
def loop_carried_then_merged_in_kernel(x: X, n: N, out: OUT):
    acc = pl.add(x, 1.0)
    for i in pl.range(2):
        acc = pl.mul(acc, 2.0)
    with pl.at(name_hint="k"):
        if n > 0:
            acc = pl.add(acc, 1.0)
    out[:, :] = acc


def golden(kernel, x, n):
    acc = x.copy() if kernel is view_merged_in_kernel else (x + np.float32(1.0)) * np.float32(4.0)
    return acc + np.float32(1.0) if n > 0 else acc


@pytest.mark.parametrize("kernel", [view_merged_in_kernel, loop_carried_then_merged_in_kernel])
@pytest.mark.parametrize("n", [1, 0])
def test_if_in_a_kernel_merging_memory_with_a_tile(kernel, n):
    x = ints((2, 8), seed=8)
    out = np.zeros((2, 8), np.float32)
    kernel(x, n, out)  # the conftest also runs it through the pass pipeline: outline raises today
    assert_bitwise(out, golden(kernel, x, n))
