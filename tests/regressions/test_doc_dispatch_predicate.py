"""Mirrors the hw-native-sys/pypto docs page `02-manual_dependencies.md`: the dispatch predicate
`predicate=(t[i] > 0)`.

The reference scheduler evaluates a predicate at dispatch so an empty MoE expert retires inline
without stalling orchestration. Contract: the predicate operand's producer *must* be listed in
`deps=`; the parser only spot-checks this and cannot see aliases, arrays, or later producers - a
missing one means the predicate reads a stale count, silently.

Right behaviour in pto: there is no `deps=` to forget. A branch on a value read from a tensor is
ordered after whatever wrote that element - a task writing through a reshape alias, an inline
helper, a producer that rewrites the counts later in the program (the earlier predicate reads are
then ordered before the rewrite: WAR) - and experts whose count is 0 are skipped, exactly as in
sequential execution.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, exp32, normal, scalar_node

E, R, D = 4, 8, 16


@pl.jit.inline
def count_tokens(counts, route):
    with pl.at(name_hint="count"):
        pl.reshape(counts, [1, E])[:, :] = pl.mul(route, 2)   # written through an alias


@pl.jit
def predicated_experts(route: pl.Tensor[[1, E], pl.INT32], x: pl.Tensor[[E, R, D], pl.FP32],
                       out: pl.Out[pl.Tensor[[E, R, D], pl.FP32]], again: pl.Out[pl.Tensor[[E, R, D], pl.FP32]]):
    counts = pl.create_tensor([E, 1], pl.INT32)
    count_tokens(counts, route)
    for e in pl.range(E):
        if pl.read(counts, [e, 0]) > 0:  # NODE first-predicate
            with pl.at(name_hint="expert"):
                out[e : e + 1, :, :] = pl.exp(x[e : e + 1, :, :])
        else:
            with pl.at(name_hint="empty"):
                out[e : e + 1, :, :] = pl.full([1, R, D], pl.FP32, 0.0)
    with pl.at(name_hint="recount"):                 # a later producer of the same counts
        counts[:, :] = pl.sub(pl.reshape(route, [E, 1]), 1)
    for e in pl.range(E):
        if pl.read(counts, [e, 0]) > 0:  # NODE second-predicate
            with pl.at(name_hint="expert_again"):
                again[e : e + 1, :, :] = pl.neg(x[e : e + 1, :, :])
        else:
            with pl.at(name_hint="empty_again"):
                again[e : e + 1, :, :] = pl.full([1, R, D], pl.FP32, 0.0)


def _args():
    route = np.array([[1, 0, 3, 2]], np.int32)        # expert 1 is empty; after the recount also expert 0
    return route, normal((E, R, D)), np.ones((E, R, D), np.float32), np.ones((E, R, D), np.float32)


def test_predicates_are_ordered_after_every_producer_of_their_operand():
    first = scalar_node("read", "first-predicate", __file__)
    second = scalar_node("read", "second-predicate", __file__)
    assert edges(predicated_experts, *_args()) == {
        ("count", first, "RAW", "counts", False),
        (first, "recount", "WAR", "counts", False),     # the rewrite waits for the earlier predicates
        ("count", "recount", "WAW", "counts", False),
        ("recount", second, "RAW", "counts", False),
        ("count", second, "RAW", "counts", False),      # implied (count -> recount -> read); no kill analysis
        # the two arms of one `if` write the same rows; they never both run (conservative edges)
        ("expert", "empty", "WAW", "out", False),
        ("expert_again", "empty_again", "WAW", "again", False),
    }


def test_empty_experts_are_skipped_as_in_sequential_execution():
    route, x, out, again = _args()
    predicated_experts(route, x, out, again)
    want, want_again = np.zeros_like(x), np.zeros_like(x)
    for e in range(E):
        if route[0, e] * 2 > 0:
            want[e] = exp32(x[e])
        if route[0, e] - 1 > 0:
            want_again[e] = -x[e]
    assert_bitwise(out, want)
    assert_bitwise(again, want_again)
