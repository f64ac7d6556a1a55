"""Mirrors hw-native-sys/pypto-lib#481: a WAR edge was missed between two reshape views.

The reference auto-dep keyed on the SSA value, not the buffer: an attention task read the KV cache
through one reshape view and the in-place KV writeback wrote it through another, so the writeback
raced ahead of the read (~7% nondeterministic error; the workaround was a no-op self-copy).

Right behaviour: both views denote the one KV buffer, so the writeback gets a WAR edge from the
reader, and the reader sees the cache *before* the writeback (sequential order) while the cache
afterwards holds the new row.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, compiled, edges, ints, unordered_conflicts

L, B, D = 2, 4, 16  # layers x blocks = 8 cache rows of D


@pl.jit
def attend_then_writeback(q: pl.Tensor[[1, D], pl.FP32], new_kv: pl.Tensor[[1, D], pl.FP32],
                          kv: pl.InOut[pl.Tensor[[L, B, D], pl.FP32]], out: pl.Out[pl.Tensor[[1, L * B], pl.FP32]]):
    kv_read = pl.reshape(kv, [L * B, D])
    kv_write = pl.reshape(kv, [L * B, D])               # a second, separate view of the same cache
    with pl.at(name_hint="attend"):
        out[:, :] = pl.matmul(q, kv_read, b_trans=True)
    with pl.at(name_hint="writeback"):
        kv_write[5:6, :] = new_kv


@pl.jit
def writeback_in_a_loop(q: pl.Tensor[[L * B, D], pl.FP32], kv: pl.InOut[pl.Tensor[[L, B, D], pl.FP32]],
                        out: pl.Out[pl.Tensor[[L * B, L * B], pl.FP32]]):
    for t in pl.range(L * B):
        with pl.at(name_hint="attend"):
            out[t : t + 1, :] = pl.matmul(q[t : t + 1, :], pl.reshape(kv, [L * B, D]), b_trans=True)
        with pl.at(name_hint="writeback"):
            flat = pl.reshape(kv, [L * B, D])
            flat[t : t + 1, :] = pl.add(flat[t : t + 1, :], q[t : t + 1, :])


def _args():
    return ints((1, D), 1), ints((1, D), 2), ints((L, B, D), 3), np.zeros((1, L * B), np.float32)


def test_writeback_through_another_reshape_view_has_the_war_edge():
    assert edges(attend_then_writeback, *_args()) == {("attend", "writeback", "WAR", "kv", False)}


def test_reader_sees_the_cache_before_the_writeback():
    q, new_kv, kv, out = _args()
    old = kv.copy()
    attend_then_writeback(q, new_kv, kv, out)
    assert_bitwise(out, q @ old.reshape(L * B, D).T)
    want = old.reshape(L * B, D).copy()
    want[5] = new_kv[0]
    assert_bitwise(kv, want.reshape(L, B, D))


def test_writeback_loop_orders_every_reader_against_every_writer():
    q, kv, out = ints((L * B, D), 4), ints((L, B, D), 5), np.zeros((L * B, L * B), np.float32)
    assert edges(writeback_in_a_loop, q, kv, out) == {
        ("attend", "writeback", "WAR", "kv", False),   # this step's read before this step's write
        ("attend", "writeback", "WAR", "kv", True),    # ... and before every later step's write
        ("writeback", "attend", "RAW", "kv", True),    # a later step reads what this one wrote
        ("writeback", "writeback", "RAW", "kv", True),  # (whole-buffer boxes through the reshape)
        ("writeback", "writeback", "WAR", "kv", True),
        ("writeback", "writeback", "WAW", "kv", True),
    }
    assert unordered_conflicts(compiled(writeback_in_a_loop, q, kv, out)) == []
    cache = kv.reshape(L * B, D).copy()
    want = np.zeros_like(out)
    for t in range(L * B):
        want[t] = q[t] @ cache.T
        cache[t] = cache[t] + q[t]
    writeback_in_a_loop(q, kv, out)
    assert_bitwise(out, want)
    assert_bitwise(kv, cache.reshape(L, B, D))
