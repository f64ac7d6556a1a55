"""Mirrors hw-native-sys/pypto#2745 (cores of one `pl.spmd` task running without a sync between
them), block against block instead of AIC against AIV.

The blocks of one `pl.spmd` task run on different cores at the same time; nothing orders one block's
accesses against another's. In the reference stack, nothing checked that they touch disjoint memory,
so a task whose blocks read-modify-write the same region computed a schedule-dependent answer.

Right behaviour: blocks that write provably disjoint regions (the usual row/column split) compile
and give the sequential answer. Blocks whose accesses may conflict - a read-modify-write of one
shared row, or rows chosen by data - cannot be ordered by the runtime, so, as for the iterations of
a `pl.parallel` loop, the compiler must reject the task, naming the `pl.spmd` line.

Found with this file: pto accepted both conflicting programs (the access analysis replaced the
block index by its hull). Now every block writing the same box is a compile error at the pl.spmd
line; rows chosen by data cannot be decided at compile time and are left to the a2a3sim sanitizer
(the second test stays an expected failure until then).
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from pto.ir.core import Program
from pto.sim.interpreter import run_program
from regression_helpers import assert_bitwise, assert_error_at, compiled, edges, ints

B, D = 4, 16


@pl.jit
def disjoint_blocks(x: pl.Tensor[[B, D], pl.FP32], out: pl.Out[pl.Tensor[[B, D], pl.FP32]]):
    for b in pl.spmd(B, name_hint="rows"):
        out[b : b + 1, :] = pl.add(x[b : b + 1, :], x[(B - 1) - b : B - b, :])   # reads other rows, writes its own


@pl.jit
def shared_accumulator(x: pl.Tensor[[B, D], pl.FP32], out: pl.Out[pl.Tensor[[B, D], pl.FP32]]):
    out[:, :] = pl.full([B, D], pl.FP32, 0.0)
    for b in pl.spmd(B, name_hint="accumulate"):  # ERROR-LINE shared-row
        out[0:1, :] = pl.add(out[0:1, :], x[b : b + 1, :])       # every block: read, add, write row 0


@pl.jit
def data_dependent_rows(route: pl.Tensor[[B, 1], pl.INT32], x: pl.Tensor[[B, D], pl.FP32],
                        out: pl.Out[pl.Tensor[[B, D], pl.FP32]]):
    out[:, :] = pl.full([B, D], pl.FP32, 0.0)
    for b in pl.spmd(B, name_hint="route"):  # ERROR-LINE routed-rows
        r = pl.read(route, [b, 0])
        out[r : r + 1, :] = pl.add(out[r : r + 1, :], x[b : b + 1, :])   # two blocks may pick one row


def test_disjoint_blocks_compile_and_give_the_sequential_answer():
    x, out = ints((B, D)), np.zeros((B, D), np.float32)
    assert edges(disjoint_blocks, x, out) == set()
    disjoint_blocks(x, out)
    assert_bitwise(out, x + x[::-1])


def test_the_sequential_answer_of_the_conflicting_programs():
    """What the interpreter computes (blocks in order); a device would not reproduce it."""
    x, out = ints((B, D)), np.zeros((B, D), np.float32)
    want = np.zeros((B, D), np.float32)
    want[0] = x.sum(axis=0)
    run_program(Program([shared_accumulator.compile(x, out).function]), [x, out])   # the traced IR, no passes
    assert_bitwise(out, want)


def test_blocks_updating_one_shared_row_are_rejected():
    x, out = ints((B, D)), np.zeros((B, D), np.float32)
    with pytest.raises(PlValueError) as info:
        compiled(shared_accumulator, x, out)
    assert_error_at(info, PlValueError, "shared-row", __file__, "'out'")


@pytest.mark.xfail(strict=True, reason="not decidable at compile time from the hulls deps keeps: rows "
                                        "chosen by data are left to the a2a3sim sanitizer (issue 5)")
def test_blocks_writing_data_dependent_rows_are_rejected():
    route = np.array([[1], [3], [1], [0]], np.int32)     # blocks 0 and 2 both update row 1
    x, out = ints((B, D)), np.zeros((B, D), np.float32)
    with pytest.raises(PlValueError) as info:
        compiled(data_dependent_rows, route, x, out)
    assert_error_at(info, PlValueError, "routed-rows", __file__, "'out'")
