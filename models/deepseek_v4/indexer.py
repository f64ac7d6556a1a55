"""DeepSeek-V4 CSA indexer, scoring and selection (pypto-lib.md §2.2 `decode_indexer.py`): every
token scores the compressed positions it may see and keeps the `indexer_topk` best for CSA.

    score[t, j] = kv_scale[j] * sum_h w[t, h] * relu(q_scale[t, h] * FP32(q[t, h] . k[j]))

q [T*IH, ID] INT8 with one FP32 scale per (token, head) (the indexer query after its projection,
RoPE, Hadamard and INT8 quant); k [rows, ID] INT8, the indexer KV cache, one FP32 scale per row;
w [T, IH] FP32 the head weights (weights_proj output times index_weights_scale). Token t sees
positions 0 .. cmp_len[t] - 1; the rest score -1e30. Top-k is descending with ties to the lower
position; a slot whose score is -1e30 (fewer than k visible positions) returns -1.
The INT8 dot products are exact in INT32 (|.| <= 128 * 127 * 127 < 2**24, exact in FP32 too).

    python -m pto.cli run models/deepseek_v4/indexer.py
"""
import ml_dtypes  # noqa: F401  (the golden's dtypes)
import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.config import FLASH, SMALL

NEG_INF = -1e30
SCORE_TILE = 128  # positions per QK matmul: a [128, 128] INT8 key block is 16 KiB of L0B


@pl.jit.inline
def indexer_scores(q, q_scale, w, k, k_scale, cmp_len, scores, cfg, cmp_base=None):
    """scores [T, rows] FP32; token t sees rows cmp_base[t] .. cmp_base[t] + cmp_len[t] - 1 (from
    row 0 without cmp_base: a cache of one sequence), the rest -1e30. The top-k then returns cache
    rows, which is what sparse attention gathers by."""
    IH, rows = cfg.indexer_heads, k.shape[0]
    n = min(SCORE_TILE, rows)
    for t in pl.spmd(cfg.tokens, name_hint="idx_score"):
        w_col = pl.reshape(w[t:t + 1, 0:IH], [IH, 1])
        visible = pl.read(cmp_len, [t, 0])
        if cmp_base is not None:
            first = pl.read(cmp_base, [t, 0])
            visible = first + visible
        for jb in pl.range(rows // n):
            j0 = jb * n
            dots = pl.matmul(q[t * IH:(t + 1) * IH, :], k[j0:j0 + n, :], b_trans=True)
            per_head = pl.relu(pl.row_expand_mul(pl.cast(dots, pl.FP32), q_scale[t * IH:(t + 1) * IH, 0:1]))
            s = pl.col_expand_mul(pl.col_sum(pl.row_expand_mul(per_head, w_col)), k_scale[0:1, j0:j0 + n])
            pos = pl.add(pl.arange([1, n], dtype=pl.INT32), pl.cast(j0, pl.INT32))
            s = pl.where(pl.lt(pos, visible), s, NEG_INF)
            if cmp_base is not None:
                s = pl.where(pl.ge(pos, first), s, NEG_INF)
            scores[t:t + 1, j0:j0 + n] = s


@pl.jit.inline
def indexer_topk(scores, topk_idx, cfg):
    for t in pl.spmd(cfg.tokens, name_hint="idx_topk"):
        values, idx = pl.topk(scores[t:t + 1, :], cfg.indexer_topk)
        topk_idx[t:t + 1, :] = pl.where(pl.gt(values, NEG_INF), idx, -1)


@pl.jit
def indexer(q, q_scale, w, k, k_scale, cmp_len, topk_idx: pl.Out, cfg, cmp_base=None):
    scores = pl.create_tensor([cfg.tokens, k.shape[0]], dtype=pl.FP32)
    indexer_scores(q, q_scale, w, k, k_scale, cmp_len, scores, cfg, cmp_base)
    indexer_topk(scores, topk_idx, cfg)


def golden_scores(q, q_scale, w, k, k_scale, cmp_len, cfg, cmp_base=None):
    T, IH, rows = cfg.tokens, cfg.indexer_heads, k.shape[0]
    n = min(SCORE_TILE, rows)
    out = np.zeros((T, rows), np.float32)
    for t in range(T):
        qt = q[t * IH:(t + 1) * IH].astype(np.int64)
        for j0 in range(0, rows, n):
            dots = (qt @ k[j0:j0 + n].astype(np.int64).T).astype(np.float32)
            per_head = np.maximum(dots * q_scale[t * IH:(t + 1) * IH], np.float32(0))
            s = np.sum(per_head * w[t].reshape(IH, 1), axis=0, keepdims=True, dtype=np.float32) * k_scale[:, j0:j0 + n]
            pos = np.arange(j0, j0 + n)
            lo = 0 if cmp_base is None else cmp_base[t, 0]
            out[t, j0:j0 + n] = np.where((pos >= lo) & (pos < lo + cmp_len[t, 0]), s[0], np.float32(NEG_INF))
    return out


def golden(q, q_scale, w, k, k_scale, cmp_len, topk_idx, cfg, cmp_base=None):
    return {"topk_idx": golden_topk(golden_scores(q, q_scale, w, k, k_scale, cmp_len, cfg, cmp_base), cfg)}


def golden_topk(scores, cfg):
    """Descending, ties to the lower row (a stable sort), -1 for a masked score."""
    order = np.argsort(-scores.astype(np.float64), axis=1, kind="stable")[:, :cfg.indexer_topk]
    picked = np.take_along_axis(scores, order, axis=1)
    return np.where(picked > NEG_INF, order, -1).astype(np.int32)


def _case(name, cfg, rows, lens, seed, bases=None):
    T, IH, ID = cfg.tokens, cfg.indexer_heads, cfg.indexer_dim
    inputs = {
        "q": pt.randint((T * IH, ID), pl.INT8, -127, 128, seed=seed),
        "q_scale": pt.uniform((T * IH, 1), pl.FP32, 1e-3, 2e-3, seed=seed + 1),
        "w": pt.normal((T, IH), pl.FP32, seed=seed + 2, scale=IH ** -0.5),
        "k": pt.randint((rows, ID), pl.INT8, -127, 128, seed=seed + 3),
        "k_scale": pt.uniform((1, rows), pl.FP32, 1e-3, 2e-3, seed=seed + 4),
        "cmp_len": lens,
        "topk_idx": pt.zeros((T, cfg.indexer_topk), pl.INT32),
    }
    if bases is not None:
        inputs["cmp_base"] = bases
    # Indices are compared exactly: the golden computes the same FP32 scores (same shapes and
    # reduction order), and ties resolve to the lower position on both sides.
    return pt.Case(f"indexer_{name}", indexer, inputs, golden, consts={"cfg": cfg})


_SMALL_ROWS, _FLASH_ROWS = SMALL.cmp_history, 640
CASES = [
    # steady state: every token sees more positions than it keeps
    _case("small", SMALL, _SMALL_ROWS, pt.randint((SMALL.tokens, 1), pl.INT32, 20, _SMALL_ROWS + 1, seed=9), 0),
    # start of a sequence: 0 .. 15 visible positions, fewer than top-k: -1 padding (all -1 at 0)
    _case("seq_start", SMALL, _SMALL_ROWS, pt.randint((SMALL.tokens, 1), pl.INT32, 0, SMALL.indexer_topk, seed=4), 10),
    # a cache shared by sequences: token t scores rows cmp_base[t] .. cmp_base[t] + cmp_len[t] - 1
    _case("paged", SMALL, _SMALL_ROWS, pt.randint((SMALL.tokens, 1), pl.INT32, 0, 25, seed=5), 40,
          bases=pt.randint((SMALL.tokens, 1), pl.INT32, 0, _SMALL_ROWS - 24, seed=6)),
    _case("t1", SMALL.with_(tokens=1), _SMALL_ROWS, pt.randint((1, 1), pl.INT32, 1, _SMALL_ROWS + 1, seed=3), 20),
    _case("flash", FLASH, _FLASH_ROWS, pt.randint((FLASH.tokens, 1), pl.INT32, 400, _FLASH_ROWS + 1, seed=9), 30),
]
