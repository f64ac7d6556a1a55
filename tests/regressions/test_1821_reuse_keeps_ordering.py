"""Mirrors hw-native-sys/pypto#1805 -> hw-native-sys/pypto#1821: a packing change dropped an ordering
at a reuse boundary.

The global largest-first (first-fit-decreasing) packer of #1805 placed a new buffer on the bytes of
a dead one without the `PIPE_MTE3 <-> PIPE_V` sync that ordered the old occupant's last read before
the new occupant's first write: a stale read, ~17.5% wrong outputs on dsv4 `prefill_sparse_attn`,
deterministic, bisected to that one change.

Right behaviour: whenever the plan (largest first or not) lets two buffers share bytes, it adds a
REUSE edge from every task touching the earlier occupant to every task touching the later one
unless the graph already orders them - in a loop body also loop-carried edges back from the later
occupant to the next iteration's earlier one. The independent checker (`check_plan`) rejects the
plan without those edges; so does an instance-level check that unrolls the loops
(`unordered_reuses`: every pair of task instances touching byte-sharing buffers is ordered by a
path), and the compiled program (run on the planned offsets) gives the sequential answer.

Found with this file and fixed in pto/passes/memplan.py: in a loop nest the
loop-carried REUSE edges are carried by the innermost common loop only, while the deps pass gives
`carried_by=L` the meaning "a later iteration of L within the same iteration of the loops around
L" (it emits separate edges for each enclosing loop). Nothing then orders the later occupant's
users in the last inner iteration of outer iteration i before the earlier occupant's writer in the
first inner iteration of outer iteration i+1 - exactly the dropped ordering of #1821; `check_plan`
has the same blind spot and accepts the plan.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.passes.memplan import PlanError, check_plan
from regression_helpers import allocs, assert_bitwise, compiled, exp32, ints, normal, reuse_facts, share_bytes, \
    unordered_reuses

R, D = 16, 64


@pl.jit
def big_then_two_halves(x: pl.Tensor[[R, D], pl.FP32], y: pl.Tensor[[R, D], pl.FP32],
                        out1: pl.Out[pl.Tensor[[R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[R, D // 2], pl.FP32]]):
    big = pl.create_tensor([R, D], pl.FP32)
    with pl.at(name_hint="make_big"):
        big[:, :] = pl.mul(x, 2.0)
    with pl.at(name_hint="read_big"):
        out1[:, :] = pl.add(big, 1.0)                  # big's last use
    s1 = pl.create_tensor([R, D // 2], pl.FP32)        # the two halves fit in big's hole ...
    s2 = pl.create_tensor([R, D // 2], pl.FP32)
    with pl.at(name_hint="make_s1"):
        s1[:, :] = pl.mul(y[:, 0 : D // 2], 3.0)        # ... and nothing but the plan orders their
    with pl.at(name_hint="make_s2"):                    # writers after read_big
        s2[:, :] = pl.mul(y[:, D // 2 : D], 5.0)
    with pl.at(name_hint="combine"):
        out2[:, :] = pl.add(s1, s2)


@pl.jit
def two_chains_per_iteration(x: pl.Tensor[[4, R, D], pl.FP32], y: pl.Tensor[[4, R, D], pl.FP32],
                             out1: pl.Out[pl.Tensor[[4, R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[4, R, D], pl.FP32]]):
    for i in pl.range(4):
        a = pl.create_tensor([R, D], pl.FP32)
        with pl.at(name_hint="make_a"):
            a[:, :] = pl.exp(pl.reshape(x[i : i + 1, :, :], [R, D]))
        with pl.at(name_hint="use_a"):
            out1[i : i + 1, :, :] = pl.reshape(pl.add(a, 1.0), [1, R, D])
        b = pl.create_tensor([R, D], pl.FP32)          # a's bytes, this iteration
        with pl.at(name_hint="make_b"):
            b[:, :] = pl.exp(pl.reshape(y[i : i + 1, :, :], [R, D]))
        with pl.at(name_hint="use_b"):
            out2[i : i + 1, :, :] = pl.reshape(pl.mul(b, 2.0), [1, R, D])


@pl.jit
def two_chains_nested(x: pl.Tensor[[2, 2, R, D], pl.FP32], y: pl.Tensor[[2, 2, R, D], pl.FP32],
                      out1: pl.Out[pl.Tensor[[2, 2, R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[2, 2, R, D], pl.FP32]]):
    for i in pl.range(2):
        for j in pl.range(2):
            a = pl.create_tensor([R, D], pl.FP32)
            with pl.at(name_hint="make_a"):
                a[:, :] = pl.exp(pl.reshape(x[i : i + 1, j : j + 1, :, :], [R, D]))
            with pl.at(name_hint="use_a"):
                out1[i : i + 1, j : j + 1, :, :] = pl.reshape(pl.add(a, 1.0), [1, 1, R, D])
            b = pl.create_tensor([R, D], pl.FP32)      # a's bytes
            with pl.at(name_hint="make_b"):
                b[:, :] = pl.exp(pl.reshape(y[i : i + 1, j : j + 1, :, :], [R, D]))
            with pl.at(name_hint="use_b"):
                out2[i : i + 1, j : j + 1, :, :] = pl.reshape(pl.mul(b, 2.0), [1, 1, R, D])


def _check(c, edges):
    check_plan(c.facts["memplan"], c.facts["access"], edges)


def test_largest_first_packing_orders_the_new_occupants_after_the_old():
    x, y = ints((R, D), 1), ints((R, D), 2)
    c = compiled(big_then_two_halves, x, y, np.zeros_like(x), np.zeros((R, D // 2), np.float32))
    plan, a = c.facts["memplan"], allocs(c)
    assert plan.workspace == plan.lower_bound == R * D * 4    # both halves packed into big's bytes
    assert share_bytes(a["big"], a["s1"]) and share_bytes(a["big"], a["s2"])
    assert not share_bytes(a["s1"], a["s2"])
    assert reuse_facts(c) == {("read_big", "make_s1", "REUSE", "s1", False),
                              ("read_big", "make_s2", "REUSE", "s2", False)}
    _check(c, c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []
    with pytest.raises(PlanError, match="reuses the bytes of big, but make_s. is not ordered after"):
        _check(c, c.facts["deps"])                              # the #1821 plan: reuse without the order


def test_largest_first_packing_gives_the_sequential_answer():
    x, y = ints((R, D), 1), ints((R, D), 2)
    out1, out2 = np.zeros_like(x), np.zeros((R, D // 2), np.float32)
    big_then_two_halves(x, y, out1, out2)
    assert_bitwise(out1, x * 2 + 1)
    assert_bitwise(out2, y[:, : D // 2] * 3 + y[:, D // 2 :] * 5)


def test_reuse_inside_a_loop_is_ordered_within_and_across_iterations():
    x, y = normal((4, R, D)), normal((4, R, D), 1)
    c = compiled(two_chains_per_iteration, x, y, np.zeros_like(x), np.zeros_like(x))
    plan, a = c.facts["memplan"], allocs(c)
    assert share_bytes(a["a"], a["b"])
    assert reuse_facts(c) == {
        ("use_a", "make_b", "REUSE", "b", False),              # this iteration: b after a's reader
        ("make_b", "make_a", "REUSE", "a", True),              # next iteration: a after b's users
        ("use_b", "make_a", "REUSE", "a", True),
        ("make_b", "use_a", "REUSE", "a", True),
        ("use_b", "use_a", "REUSE", "a", True),
    }
    _check(c, c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []
    with pytest.raises(PlanError, match="later iteration"):
        _check(c, c.facts["deps"] + [e for e in plan.reuse_edges if e.carried_by is None])
    plan.reuse_edges = [e for e in plan.reuse_edges if e.carried_by is None]
    assert ("b", "a", ("use_b", (0,)), ("make_a", (1,))) in unordered_reuses(c)   # the oracle sees it too


def test_reuse_inside_a_loop_gives_the_sequential_answer():
    x, y = normal((4, R, D)), normal((4, R, D), 1)
    out1, out2 = np.zeros_like(x), np.zeros_like(x)
    two_chains_per_iteration(x, y, out1, out2)
    assert_bitwise(out1, exp32(x) + np.float32(1))
    assert_bitwise(out2, exp32(y) * np.float32(2))


def test_reuse_inside_a_loop_nest_is_ordered_across_outer_iterations():
    x, y = normal((2, 2, R, D)), normal((2, 2, R, D), 1)
    c = compiled(two_chains_nested, x, y, np.zeros_like(x), np.zeros_like(x))
    a = allocs(c)
    if share_bytes(a["a"], a["b"]):
        assert unordered_reuses(c) == []


def test_reuse_inside_a_loop_nest_gives_the_sequential_answer():
    x, y = normal((2, 2, R, D)), normal((2, 2, R, D), 1)
    out1, out2 = np.zeros_like(x), np.zeros_like(x)
    two_chains_nested(x, y, out1, out2)
    assert_bitwise(out1, exp32(x) + np.float32(1))
    assert_bitwise(out2, exp32(y) * np.float32(2))
