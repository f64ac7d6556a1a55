"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "stale_loop_local"); fixed in regions.py (a
value from a closed region is never a loop-carry candidate).

In a loop nest whose outer loop carries a value, a name assigned only inside the inner loop is taken for
a value carried into the inner loop. The outer loop's discovery trace (regions.py, run to find its
carried names) executes the inner loop once and leaves that name bound in the frame; when the real trace
reaches the inner loop, the name "holds a traced value before the loop" and is rebound in its body, so it
becomes carried, initialized from a value of the discarded trace:
  * inner `pl.range`: "the tensor fp32[1, 8] created at ... belongs to the loop ... and is used after it";
  * inner `pl.parallel`: "pl.parallel iterations must be independent, but t is carried".
(Without a carried value in the outer loop there is no discovery trace and both programs work.)

Right behaviour: `t` is local to the inner loop (it is assigned before any use in each iteration); both
programs compile and give the sequential result.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, ints


@pl.jit
def inner_range_local(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    acc = pl.full([1, 8], pl.FP32, 0.0)
    for i in pl.range(2):
        for k in pl.range(2):
            t = pl.add(x[k : k + 1, :], 1.0)  # local to the inner loop
            acc = pl.add(acc, t)
    out[0:1, :] = acc
    out[1:2, :] = acc


@pl.jit
def inner_parallel_local(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    acc = pl.full([2, 8], pl.FP32, 0.0)
    for i in pl.range(2):
        acc = pl.add(acc, x)
        for j in pl.parallel(2):
            t = pl.mul(acc[:, j * 4 : j * 4 + 4], 2.0)  # local to the inner loop
            out[:, j * 4 : j * 4 + 4] = t


def golden(kernel, x):
    if kernel is inner_parallel_local:
        return (x + x) * np.float32(2.0)
    acc = np.zeros((1, 8), np.float32)
    for _ in range(2):
        for k in range(2):
            acc = acc + (x[k : k + 1] + np.float32(1.0))
    return np.concatenate([acc, acc])


@pytest.mark.parametrize("kernel", [inner_range_local, inner_parallel_local])
def test_inner_loop_local_in_a_carrying_outer_loop(kernel):
    x = ints((2, 8), seed=4)
    out = np.zeros((2, 8), np.float32)
    kernel(x, out)
    assert_bitwise(out, golden(kernel, x))
