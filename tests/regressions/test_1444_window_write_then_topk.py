"""Mirrors hw-native-sys/pypto#1444: OptimizeOrchTensors dropped the parent-SSA rebind.

Out-window externalization made each score task write its window of the parent tensor without the
parent's SSA name being rebound, so the orchestration had no dependency from the window writers to
the indexer's top-k over the whole parent: a race.

Right behaviour: a write to a window (slice) is a write to the parent buffer. The top-k task that
reads the parent gets a RAW edge from the window writers; the windows themselves (disjoint, written
by a `pl.parallel`) need no edges between them; indices match a numpy golden (descending, ties to
the lower index). The same holds for a row reduction over the parent (runs without `pl.topk`).
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, edges, ints

Q, N, D, K = 4, 64, 16, 8
WIN = 16


@pl.jit
def windowed_indexer(q: pl.Tensor[[Q, D], pl.FP32], keys: pl.Tensor[[N, D], pl.FP32],
                     idx: pl.Out[pl.Tensor[[Q, K], pl.INT32]]):
    scores = pl.create_tensor([Q, N], pl.FP32)
    for w in pl.parallel(N // WIN):
        with pl.at(name_hint="score_window"):
            window = scores[:, w * WIN : w * WIN + WIN]
            window[:, :] = pl.matmul(q, keys[w * WIN : w * WIN + WIN, :], b_trans=True)
    with pl.at(name_hint="indexer_topk"):
        _, ids = pl.topk(scores, K)
        idx[:, :] = ids


@pl.jit
def windowed_max(q: pl.Tensor[[Q, D], pl.FP32], keys: pl.Tensor[[N, D], pl.FP32],
                 best: pl.Out[pl.Tensor[[Q, 1], pl.FP32]]):
    scores = pl.create_tensor([Q, N], pl.FP32)
    for w in pl.parallel(N // WIN):
        with pl.at(name_hint="score_window"):
            scores[:, w * WIN : w * WIN + WIN] = pl.matmul(q, keys[w * WIN : w * WIN + WIN, :], b_trans=True)
    with pl.at(name_hint="indexer_max"):
        best[:, :] = pl.row_max(scores)


needs_topk = pytest.mark.skipif(not hasattr(pl, "topk"), reason="pl.topk is not in pto.language yet")


def _args():
    return ints((Q, D), 1), ints((N, D), 2), np.zeros((Q, K), np.int32)


@needs_topk
def test_window_writers_precede_the_topk_over_the_parent():
    assert edges(windowed_indexer, *_args()) == {("score_window", "indexer_topk", "RAW", "scores", False)}


@needs_topk
def test_topk_indices_match_the_golden():
    q, keys, idx = _args()
    windowed_indexer(q, keys, idx)
    scores = q @ keys.T                                   # small integers: exact, with many ties
    want = np.argsort(-scores, axis=1, kind="stable")[:, :K].astype(np.int32)
    assert_bitwise(idx, want)


def test_window_writers_precede_a_reduction_over_the_parent():
    q, keys, _ = _args()
    best = np.zeros((Q, 1), np.float32)
    assert edges(windowed_max, q, keys, best) == {("score_window", "indexer_max", "RAW", "scores", False)}
    windowed_max(q, keys, best)
    assert_bitwise(best, (q @ keys.T).max(axis=1, keepdims=True))
