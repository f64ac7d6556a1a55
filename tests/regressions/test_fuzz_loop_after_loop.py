"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "loop_after_loop"). A silent wrong answer.

A tile carried by two `pl.range` loops in a row comes out of the compiled program as NaN (poison).
outline.py's `_demote_carried_tiles` gives the first loop's carried tile a buffer made before the loop
and adds the loop's result to `memory`; the second loop's init is that result, so `_demote_loop` skips
it (`init in memory`) and its carried value stays a tile. Outlining then materializes each iteration's
new value into a `tmp_ws` buffer created *inside* the loop body: the next iteration reads the carried
value from the previous iteration's `tmp_ws`, whose create_tensor has just re-poisoned it (memplan gives
every iteration's `tmp_ws` the same offset).

Right behaviour: the second loop's carried tile also lives in a buffer made before that loop (or the
first loop's buffer carries on); the compiled result equals the reference, `x + 5`.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, ints, run_compiled


@pl.jit
def carried_twice(x: pl.Tensor[[2, 4], pl.FP32], out: pl.Out[pl.Tensor[[2, 4], pl.FP32]]):
    acc = pl.add(x, 1.0)
    for i in pl.range(2):
        acc = pl.add(acc, 1.0)
    for i in pl.range(2):
        acc = pl.add(acc, 1.0)
    out[:, :] = acc


@pl.jit
def carried_then_returned(x: pl.Tensor[[2, 4], pl.FP32]):
    acc = x[0:2, 0:4]
    for i in pl.range(2):
        acc = pl.maximum(acc, -0.25)
    for i in pl.range(2):
        acc = pl.mul(acc, x)
    return acc


def test_tile_carried_by_two_loops_in_a_row():
    x = ints((2, 4), seed=6)
    want = x + np.float32(5.0)
    assert_bitwise(run_compiled(carried_twice, x, np.zeros((2, 4), np.float32))[1], want)


def test_returned_tile_carried_by_two_loops_in_a_row():
    x = ints((2, 4), seed=7)
    acc = x.copy()
    for _ in range(2):
        acc = np.maximum(acc, np.float32(-0.25))
    for _ in range(2):
        acc = acc * x
    assert_bitwise(carried_then_returned(x), acc)  # the conftest re-runs it compiled: the returned tile differs
