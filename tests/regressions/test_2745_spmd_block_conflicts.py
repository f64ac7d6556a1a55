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
line; rows chosen by data cannot be decided at compile time: the a2a3sim sanitizer, which checks
each block of a task against the others, reports the blocks that collide in a run.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from pto.sim.sanitizer import SanitizerError
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


def test_blocks_writing_data_dependent_rows_are_reported_by_the_sanitizer():
    """Rows chosen by data cannot be proven disjoint or conflicting at compile time: the program
    compiles, and a2a3sim's sanitizer (whose unit is a task's block) reports the blocks that did
    collide, naming both blocks and the line; distinct routes run clean."""
    x, out = ints((B, D)), np.zeros((B, D), np.float32)
    data_dependent_rows(np.array([[2], [3], [1], [0]], np.int32), x, out)   # a permutation: disjoint rows
    want = np.zeros((B, D), np.float32)
    want[[2, 3, 1, 0]] = x
    assert_bitwise(out, want)
    with pytest.raises(SanitizerError) as info:
        data_dependent_rows(np.array([[1], [3], [1], [0]], np.int32), x, out)   # blocks 0 and 2 pick row 1
    (raw, *_) = [f for f in info.value.findings if f.kind == "missing RAW edge"]
    assert "`route` (submitted at" in raw.message and "block 0" in raw.message and "block 2" in raw.message
