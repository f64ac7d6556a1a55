"""Flash-attention forward for one query tile: out = softmax(q @ k^T * scale) @ v, one K block at a time.

q [16, 64], k and v [128, 64], all FP32. The keys are visited in 4 blocks of 32 with the online
softmax: a running row max m, row sum l and unnormalized output o are rescaled by
alpha = exp(m_old - m_new) whenever a block raises the max, so no [16, 128] score matrix is kept.

    pto run examples/flash_merge.py
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

SQ, SK, D, BK = 16, 128, 64, 32
NBLK = SK // BK
SCALE = 1.0 / np.sqrt(D)  # 0.125: exact in FP32


@pl.jit
def flash_merge(q: pl.Tensor[[SQ, D], pl.FP32], k: pl.Tensor[[SK, D], pl.FP32], v: pl.Tensor[[SK, D], pl.FP32],
                out: pl.Out[pl.Tensor[[SQ, D], pl.FP32]]):
    with pl.at(name_hint="attn"):
        # Block 0 initializes the running state, so no -inf / zero fills are needed.
        s = pl.mul(pl.matmul(q, k[0:BK, :], b_trans=True), SCALE)
        m = pl.row_max(s)
        p = pl.exp(pl.row_expand_sub(s, m))
        l = pl.row_sum(p)
        o = pl.matmul(p, v[0:BK, :])
        for j in pl.range(1, NBLK):
            r = j * BK
            # Fresh names for per-block tiles: only m, l and o are carried by the loop.
            s_j = pl.mul(pl.matmul(q, k[r : r + BK, :], b_trans=True), SCALE)
            m_new = pl.maximum(m, pl.row_max(s_j))
            alpha = pl.exp(pl.sub(m, m_new))
            p_j = pl.exp(pl.row_expand_sub(s_j, m_new))
            l = pl.add(pl.mul(alpha, l), pl.row_sum(p_j))
            o = pl.add(pl.row_expand_mul(o, alpha), pl.matmul(p_j, v[r : r + BK, :]))
            m = m_new
        out[:, :] = pl.row_expand_div(o, l)


def _exp(x):
    """The interpreter evaluates exp in FP64 and rounds to FP32 once."""
    return np.exp(x.astype(np.float64)).astype(np.float32)


def golden(q, k, v, out):
    # The kernel's loop step by step in FP32, with the same matmul shapes (numpy's BLAS order depends
    # on them). Where the order is the hardware's own (matmul, row sums), a few FP32 ulps of the scores
    # move exp() by the same relative amount; o / l is a weighted mean of |v| ~ 1 values, so
    # atol 1e-6 / rtol 1e-5 is ~10 ulps and still catches any wrong rescale (alpha errors are O(1)).
    scale = np.float32(SCALE)
    s = (q @ k[0:BK].T) * scale
    m = s.max(axis=1, keepdims=True)
    p = _exp(s - m)
    l = p.sum(axis=1, keepdims=True, dtype=np.float32)
    o = p @ v[0:BK]
    for r in range(BK, SK, BK):
        s_j = (q @ k[r : r + BK].T) * scale
        m_new = np.maximum(m, s_j.max(axis=1, keepdims=True))
        alpha = _exp(m - m_new)
        p_j = _exp(s_j - m_new)
        l = alpha * l + p_j.sum(axis=1, keepdims=True, dtype=np.float32)
        o = o * alpha + p_j @ v[r : r + BK]
        m = m_new
    return {"out": o / l}


CASES = [
    pt.Case("flash_merge_16x128x64", flash_merge,
            # scale 2 spreads the scores (|s| up to ~10) so later blocks do raise the row max.
            {"q": pt.normal((SQ, D), pl.FP32, seed=1, scale=2.0), "k": pt.normal((SK, D), pl.FP32, seed=2),
             "v": pt.normal((SK, D), pl.FP32, seed=3), "out": pt.zeros((SQ, D), pl.FP32)},
            golden, atol=1e-6, rtol=1e-5),
]
