"""Found by the differential fuzzer (`pto.fuzz`, seed 0 program 32 once "stale_loop_local" was no longer
avoided). A silent wrong answer: the compiled program returns NaN (poison).

A tile carried by a `pl.range` loop and then by a loop nest. The inner loop's carried tile is demoted to
a buffer `acc_buf` created inside the outer loop's body; the outer loop is not demoted, since both its
init (the first loop's result) and its yield (the inner loop's result) are already in `memory`
(`_demote_loop` skips a loop when both are). So the outer loop carries "the buffer of the previous
iteration", and each iteration re-creates `acc_buf` at the same offset - poisoning the value it is about
to copy from. (The same nest without the first loop is demoted and correct.) A variant of the fixed
"loop_after_loop" (tests/regressions/test_fuzz_loop_after_loop.py).

Fixed in outline.py: a loop whose yield may denote a buffer created in its own body is demoted even when
init and yield are both memory (`_made_in`). The same holds for a user's `create_tensor` in the body.

Right behaviour: the compiled result equals the reference, x + 6.
"""
from __future__ import annotations

import numpy as np
import pto.language as pl
from regression_helpers import assert_bitwise, ints, run_compiled


@pl.jit
def loop_then_nest(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    acc = pl.add(x, 0.0)
    for i in pl.range(2):
        acc = pl.add(acc, 1.0)
    for i in pl.range(2):
        for k in pl.range(2):
            acc = pl.add(acc, 1.0)
    out[:, :] = acc


@pl.jit
def yield_a_buffer_made_in_the_body(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    acc = x
    for i in pl.range(3):
        b = pl.create_tensor([2, 8], pl.FP32)
        b[:, :] = pl.add(acc, 1.0)
        acc = b
    out[:, :] = acc


def test_a_loop_yielding_a_buffer_created_in_its_body():
    x = ints((2, 8), seed=4)
    assert_bitwise(run_compiled(yield_a_buffer_made_in_the_body, x, np.zeros((2, 8), np.float32))[1],
                   x + np.float32(3.0))


def test_tile_carried_by_a_loop_then_by_a_loop_nest():
    x = ints((2, 8), seed=9)
    assert_bitwise(run_compiled(loop_then_nest, x, np.zeros((2, 8), np.float32))[1], x + np.float32(6.0))
