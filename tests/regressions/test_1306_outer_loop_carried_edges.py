"""Mirrors hw-native-sys/simpler#1306 (follow-ups hw-native-sys/simpler#1388, hw-native-sys/pypto#2058),
in a loop nest: an edge between iterations of a loop that the dependency generation never produced.

In the reference, a reader followed by an aliasing writer across a loop got no edge because the
runtime tracked writers only (~10% off golden on Qwen3-14B prefill). Any analysis that decides
"these two iterations touch disjoint memory" has the same failure mode when the proof is wrong.

Right behaviour: two instances of tasks in a loop nest that touch the same element, one of them
writing, are ordered. Here a task writes row `i + j` of a tensor in a `j` loop nested in an `i` loop:
instance (i=0, j=1) and instance (i=1, j=0) both write row 1, so the graph needs a WAW edge carried
by the outer loop, and the row must end up holding what (1, 0) wrote (sequential order).

Found with this file and fixed in pto/passes/deps.py: the edge is missing.
deps._dim_overlaps shifts the outer index by the distance d but keeps the inner index `j` as the
*same* atom in both accesses; in `(i + d + j + 1) - (i + j)` it cancels, the gap looks constant and
the dimension is declared disjoint - although `j` stands for different iterations on the two sides
(the code only treats an inner index as unknown when it survives in the difference). The graph
then allows running (1, 0) before (0, 1): row 1 would end up holding x[1] instead of x[2]. The same
holds for scalar `pl.write`s. `unordered_conflicts` (tests/regressions/regression_helpers.py)
unrolls the nest and finds the unordered pair.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, compiled, facts_of, instance_reach, scalar_node, task_instances, \
    unordered_conflicts

N = 2


@pl.jit
def diagonal_rows(x: pl.Tensor[[2 * N, 4], pl.FP32], out: pl.Out[pl.Tensor[[2 * N, 4], pl.FP32]]):
    for i in pl.range(N):
        for j in pl.range(N):
            with pl.at(name_hint="w"):
                out[i + j : i + j + 1, :] = x[N * i + j : N * i + j + 1, :]   # (0, 1) and (1, 0): row 1


@pl.jit
def diagonal_scalars(x: pl.Tensor[[1, 2 * N], pl.INT32], out: pl.Out[pl.Tensor[[1, 2 * N], pl.INT32]]):
    for i in pl.range(N):
        for j in pl.range(N):
            pl.write(out, [0, i + j], pl.read(x, [0, N * i + j]))  # NODE scalar-diagonal


@pl.jit
def disjoint_rows(x: pl.Tensor[[N * N, 4], pl.FP32], out: pl.Out[pl.Tensor[[N * N, 4], pl.FP32]]):
    for i in pl.range(N):
        for j in pl.range(N):
            with pl.at(name_hint="w"):
                out[N * i + j : N * i + j + 1, :] = pl.add(x[N * i + j : N * i + j + 1, :], 1.0)   # all distinct


def _rows():
    return np.arange(2 * N * 4, dtype=np.float32).reshape(2 * N, 4), np.zeros((2 * N, 4), np.float32)


def _sequential_rows(x):
    out = np.zeros((2 * N, 4), np.float32)
    for i in range(N):
        for j in range(N):
            out[i + j] = x[N * i + j]
    return out


def test_the_sequential_answer_keeps_the_later_outer_iteration():
    x, out = _rows()
    diagonal_rows(x, out)
    want = _sequential_rows(x)
    assert_bitwise(out, want)
    assert_bitwise(out[1], x[2])           # (1, 0) came last


def test_writes_of_one_row_from_different_outer_iterations_are_ordered():
    x, out = _rows()
    c = compiled(diagonal_rows, x, out)
    assert facts_of(c) == {("w", "w", "WAW", "out", True)}
    assert unordered_conflicts(c) == []


def test_scalar_writes_of_one_element_from_different_outer_iterations_are_ordered():
    x, out = np.arange(2 * N, dtype=np.int32).reshape(1, 2 * N), np.zeros((1, 2 * N), np.int32)
    c = compiled(diagonal_scalars, x, out)
    w = scalar_node("write", "scalar-diagonal", __file__)
    assert facts_of(c) == {(w, w, "WAW", "out", True)}
    assert unordered_conflicts(c) == []


def _allowed(c, order) -> bool:
    """Whether running the instances in `order` ((i, j) pairs) respects every instantiated edge."""
    instances = task_instances(c)
    reach = instance_reach(instances, c.facts["deps"])
    index = {tuple(iv.values()): k for k, (_, iv) in enumerate(instances)}
    seq = [index[o] for o in order]
    return not any(seq[a] in reach[seq[b]] for a in range(len(seq)) for b in range(a + 1, len(seq)))


def test_a_schedule_the_graph_allows_gives_the_sequential_answer():
    """Replay the row copies in an order that puts (1, 0) before (0, 1): if the graph allows that
    order, the answer must not change - today it does (the missing edge made visible)."""
    x, out = _rows()
    c = compiled(diagonal_rows, x, out)
    order = [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert _allowed(c, [(0, 0), (0, 1), (1, 0), (1, 1)])   # program order is always allowed
    if not _allowed(c, order):
        return                                             # the graph forbids the harmful order: fine
    replay = np.zeros_like(out)
    for i, j in order:
        replay[i + j] = x[N * i + j]
    assert_bitwise(replay, _sequential_rows(x))


def test_distinct_rows_in_a_loop_nest_need_no_edge():
    x, out = np.arange(N * N * 4, dtype=np.float32).reshape(N * N, 4), np.zeros((N * N, 4), np.float32)
    c = compiled(disjoint_rows, x, out)
    assert facts_of(c) == set()
    assert unordered_conflicts(c) == []
    disjoint_rows(x, out)
    assert_bitwise(out, x + np.float32(1))
