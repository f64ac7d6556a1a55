"""Mirrors hw-native-sys/pypto#1072: a false serial dependency between `assemble` calls.

In the reference, non-overlapping column writes to one tensor inside `pl.parallel` became an
`add_inout` chain, so the swimlane showed the iterations serialized.

Right behaviour: iterations (of `pl.parallel` or `pl.range`) that write provably disjoint regions of
one tensor have no edge between them, whatever the trip count; a reader of the whole tensor after the
loop depends on the writer; the answer is the sequential one. Iterations whose regions do overlap
are not "independent": `pl.parallel` over them is a compile error naming the loop's line.

Found with this file and fixed in pto/passes/deps.py: the proof of
disjointness enumerates iteration distances, so it gives up on a loop whose trip count is a runtime
value or exceeds 4096 trips: `pl.parallel` is then falsely rejected and `pl.range` gets a false
loop-carried WAW edge (the very serialization of #1072).
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from regression_helpers import assert_bitwise, assert_error_at, compiled, edges, exp32, normal, unordered_conflicts

W = 16  # column block


@pl.jit
def parallel_columns(x: pl.Tensor[[4, 4 * W], pl.FP32], out: pl.Out[pl.Tensor[[4, 4 * W], pl.FP32]],
                     total: pl.Out[pl.Tensor[[4, 1], pl.FP32]]):
    for j in pl.parallel(4):
        with pl.at(name_hint="cols"):
            pl.assemble(out, pl.exp(x[:, j * W : j * W + W]), [0, j * W])
    with pl.at(name_hint="sum_all"):
        total[:, :] = pl.row_sum(out)


@pl.jit
def range_columns(x: pl.Tensor[[4, 4 * W], pl.FP32], out: pl.Out[pl.Tensor[[4, 4 * W], pl.FP32]]):
    for j in pl.range(4):
        with pl.at(name_hint="cols"):
            out[:, j * W : j * W + W] = pl.exp(x[:, j * W : j * W + W])


@pl.jit
def overlapping_parallel(x: pl.Tensor[[4, 4 * W], pl.FP32], out: pl.Out[pl.Tensor[[4, 4 * W], pl.FP32]]):
    for j in pl.parallel(3):  # ERROR-LINE overlap
        with pl.at(name_hint="cols"):
            out[:, j * W : j * W + 2 * W] = pl.exp(x[:, j * W : j * W + 2 * W])   # half of it is j+1's


@pl.jit
def parallel_runtime_count(n: pl.Scalar[pl.INDEX], x: pl.Tensor[[4, 4 * W], pl.FP32],
                           out: pl.Out[pl.Tensor[[4, 4 * W], pl.FP32]]):
    for j in pl.parallel(n):
        with pl.at(name_hint="cols"):
            out[:, j * W : j * W + W] = pl.exp(x[:, j * W : j * W + W])


@pl.jit
def range_runtime_count(n: pl.Scalar[pl.INDEX], x: pl.Tensor[[4, 4 * W], pl.FP32],
                        out: pl.Out[pl.Tensor[[4, 4 * W], pl.FP32]]):
    for j in pl.range(n):
        with pl.at(name_hint="cols"):
            out[:, j * W : j * W + W] = pl.exp(x[:, j * W : j * W + W])


LONG = 4100  # more trips than the dependency analysis enumerates


@pl.jit
def parallel_long(x: pl.Tensor[[LONG, 8], pl.FP32], out: pl.Out[pl.Tensor[[LONG, 8], pl.FP32]]):
    for j in pl.parallel(LONG):
        with pl.at(name_hint="rows"):
            out[j : j + 1, :] = pl.exp(x[j : j + 1, :])


def _args():
    return normal((4, 4 * W)), np.zeros((4, 4 * W), np.float32)


def test_disjoint_parallel_assembles_have_no_edges_and_the_reader_waits():
    x, out = _args()
    assert edges(parallel_columns, x, out, np.zeros((4, 1), np.float32)) == {
        ("cols", "sum_all", "RAW", "out", False)}


def test_disjoint_parallel_assembles_give_the_sequential_answer():
    x, out = _args()
    total = np.zeros((4, 1), np.float32)
    parallel_columns(x, out, total)
    assert_bitwise(out, exp32(x))
    assert_bitwise(total, exp32(x).sum(axis=1, keepdims=True, dtype=np.float32))


def test_disjoint_range_iterations_have_no_carried_edge():
    x, out = _args()
    assert edges(range_columns, x, out) == set()
    assert unordered_conflicts(compiled(range_columns, x, out)) == []
    range_columns(x, out)
    assert_bitwise(out, exp32(x))


def test_overlapping_parallel_iterations_are_rejected_at_the_loop():
    x, out = _args()
    with pytest.raises(PlValueError) as info:
        compiled(overlapping_parallel, x, out)
    assert_error_at(info, PlValueError, "overlap", __file__, "pl.parallel", "'out'", "WAW")


def test_disjoint_parallel_with_a_runtime_count_is_accepted():
    x, out = _args()
    assert edges(parallel_runtime_count, 4, x, out) == set()


def test_disjoint_parallel_with_many_trips_is_accepted():
    x = np.zeros((LONG, 8), np.float32)
    assert edges(parallel_long, x, np.zeros_like(x)) == set()


def test_disjoint_range_with_a_runtime_count_has_no_carried_edge():
    x, out = _args()
    assert edges(range_runtime_count, 4, x, out) == set()


def test_runtime_count_loops_still_give_the_sequential_answer():
    x, out = _args()
    range_runtime_count(3, x, out)
    want = np.zeros_like(out)
    want[:, : 3 * W] = exp32(x[:, : 3 * W])
    assert_bitwise(out, want)
