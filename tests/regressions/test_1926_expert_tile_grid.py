"""Mirrors hw-native-sys/simpler#1926: DSv4 MoE tile loops as dispatch predicates.

The reference replaced host reads of task-produced per-expert counts (which serialized the
orchestration behind the router) with a static one-tile-slot-per-expert grid plus predicates, so
that empty experts launch nothing (the pypto-lib#673/#809 "empty experts launching work" problem).

Right behaviour: both forms mean the same program. A dynamic per-expert tile count read from the
router's output, and a static grid of `MAX_TILES` slots per expert guarded by `slot < count`, give
the same answer; an expert with zero tokens runs no tile task (its `visits` row stays 0) and its
output rows keep their initial value; the reads of the counts are ordered after the router task.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, compiled, edges, ints, scalar_node, unordered_conflicts

E, MAX_TILES, TILE, D = 4, 3, 4, 16
CAP = MAX_TILES * TILE                                  # token rows per expert


@pl.jit
def dynamic_tiles(tokens: pl.Tensor[[1, E], pl.INT32], x: pl.Tensor[[E, CAP, D], pl.FP32],
                  out: pl.InOut[pl.Tensor[[E, CAP, D], pl.FP32]],
                  visits: pl.InOut[pl.Tensor[[E, MAX_TILES], pl.INT32]]):
    n_tiles = pl.create_tensor([1, E], pl.INT32)
    with pl.at(name_hint="router"):                     # ceil(tokens / TILE)
        n_tiles[:, :] = pl.cast(pl.div(pl.cast(pl.add(tokens, TILE - 1), pl.FP32), float(TILE)), pl.INT32,
                                mode="floor")
    for e in pl.range(E):
        n = pl.read(n_tiles, [0, e])
        for t in pl.range(n):
            with pl.at(name_hint="expert_tile"):
                out[e : e + 1, t * TILE : t * TILE + TILE, :] = pl.mul(x[e : e + 1, t * TILE : t * TILE + TILE, :], 2.0)
            visits[e, t] = pl.const(1, pl.INT32)


@pl.jit
def static_grid(tokens: pl.Tensor[[1, E], pl.INT32], x: pl.Tensor[[E, CAP, D], pl.FP32],
                out: pl.InOut[pl.Tensor[[E, CAP, D], pl.FP32]], visits: pl.InOut[pl.Tensor[[E, MAX_TILES], pl.INT32]]):
    n_tiles = pl.create_tensor([1, E], pl.INT32)
    with pl.at(name_hint="router"):
        n_tiles[:, :] = pl.cast(pl.div(pl.cast(pl.add(tokens, TILE - 1), pl.FP32), float(TILE)), pl.INT32,
                                mode="floor")
    for e in pl.range(E):
        for t in pl.range(MAX_TILES):                   # one slot per possible tile ...
            if t < pl.read(n_tiles, [0, e]):  # NODE predicate
                with pl.at(name_hint="expert_tile"):
                    out[e : e + 1, t * TILE : t * TILE + TILE, :] = pl.mul(
                        x[e : e + 1, t * TILE : t * TILE + TILE, :], 2.0)
                visits[e, t] = pl.const(1, pl.INT32)


def _args(tokens):
    return (np.array([tokens], np.int32), ints((E, CAP, D)), np.full((E, CAP, D), -7.0, np.float32),
            np.zeros((E, MAX_TILES), np.int32))


def _golden(tokens, x):
    out, visits = np.full((E, CAP, D), -7.0, np.float32), np.zeros((E, MAX_TILES), np.int32)
    for e, n in enumerate(tokens):
        tiles = -(-n // TILE)
        out[e, : tiles * TILE] = x[e, : tiles * TILE] * 2
        visits[e, :tiles] = 1
    return out, visits


CASES = [[5, 0, 12, 1], [0, 0, 0, 0], [12, 12, 12, 12]]   # zero-token experts, all empty, all full


@pytest.mark.parametrize("kernel", [dynamic_tiles, static_grid], ids=["dynamic", "static_grid"])
@pytest.mark.parametrize("tokens", CASES, ids=["mixed", "empty", "full"])
def test_both_forms_skip_empty_experts_and_give_the_golden(kernel, tokens):
    route, x, out, visits = _args(tokens)
    kernel(route, x, out, visits)
    want_out, want_visits = _golden(tokens, x)
    assert_bitwise(visits, want_visits)
    assert_bitwise(out, want_out)


@pytest.mark.parametrize("kernel", [dynamic_tiles, static_grid], ids=["dynamic", "static_grid"])
def test_every_count_read_follows_the_router(kernel):
    got = edges(kernel, *_args(CASES[0]))
    reads = {dst for src, dst, kind, buf, _ in got if buf == "n_tiles"}
    assert reads and all(r.startswith("read@") for r in reads)
    assert {(src, kind) for src, dst, kind, buf, _ in got if buf == "n_tiles"} == {("router", "RAW")}


def test_the_static_grid_has_exactly_the_router_edge():
    """Slots (e, t) are distinct tiles of `out` and distinct elements of `visits`: no other edge."""
    pred = scalar_node("read", "predicate", __file__)
    assert edges(static_grid, *_args(CASES[0])) == {("router", pred, "RAW", "n_tiles", False)}
    assert unordered_conflicts(compiled(static_grid, *_args(CASES[0]))) == []
