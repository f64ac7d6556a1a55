"""The merge_norm stage of the DeepSeek-V4 sparse attention, written as seeds/003 writes it.

Per token (one SPMD block each) and head tile: an online-softmax merge over SPARSE_BLOCKS partial
results (loop-carried m_mi, m_li, m_oi), the attention-sink normalisation, then the RoPE columns go
to attn_rope_stage and the BF16 no-RoPE columns are packed per output group into o_packed.
The seed keeps attn_rope_stage and o_packed as scratch; here they are outputs so they can be checked.
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

T = 2
H = 16
H_TILE = 8
SPARSE_BLOCKS = 4
HEAD_DIM = 64
ROPE_DIM = 16
NOPE_DIM = HEAD_DIM - ROPE_DIM
O_GROUPS = 2
HEADS_PER_GROUP = H // O_GROUPS
O_GROUP_IN = HEADS_PER_GROUP * HEAD_DIM
BLK_ROWS = T * (H // H_TILE) * SPARSE_BLOCKS * H_TILE


@pl.jit
def merge_norm(sparse_blk_mi: pl.Tensor[[BLK_ROWS, 1], pl.FP32],
               sparse_blk_li: pl.Tensor[[BLK_ROWS, 1], pl.FP32],
               sparse_blk_oi: pl.Tensor[[BLK_ROWS, HEAD_DIM], pl.FP32],
               attn_sink: pl.Tensor[[H], pl.FP32],
               attn_rope_stage: pl.Out[pl.Tensor[[T * H, ROPE_DIM], pl.FP32]],
               o_packed: pl.Out[pl.Tensor[[O_GROUPS * T, O_GROUP_IN], pl.BF16]]):
    # Online-softmax merge across sparse-K tiles, then sink-norm.
    for m_t in pl.spmd(T, name_hint="merge_norm"):
        m_token_base = m_t * (H // H_TILE) * SPARSE_BLOCKS * H_TILE

        for m_h_idx in pl.range((H // H_TILE)):
            m_h0 = m_h_idx * H_TILE
            m_blk_base = m_token_base + m_h_idx * SPARSE_BLOCKS * H_TILE
            m_mi = sparse_blk_mi[m_blk_base : m_blk_base + H_TILE, 0 : 1]
            m_li = sparse_blk_li[m_blk_base : m_blk_base + H_TILE, 0 : 1]
            m_oi = sparse_blk_oi[m_blk_base : m_blk_base + H_TILE, 0 : HEAD_DIM]

            # Guarded so the SWA (SPARSE_BLOCKS == 1) specialization uses the
            # single block's stats directly instead of an empty merge loop.
            if SPARSE_BLOCKS > 1:
                for m_sb in pl.range(1, SPARSE_BLOCKS):
                    m_row = m_blk_base + m_sb * H_TILE
                    m_cur_mi = sparse_blk_mi[m_row : m_row + H_TILE, 0 : 1]
                    m_cur_li = sparse_blk_li[m_row : m_row + H_TILE, 0 : 1]
                    m_cur_oi = sparse_blk_oi[m_row : m_row + H_TILE, 0 : HEAD_DIM]
                    m_mi_new = pl.maximum(m_mi, m_cur_mi)
                    m_alpha = pl.exp(pl.sub(m_mi, m_mi_new))
                    m_beta = pl.exp(pl.sub(m_cur_mi, m_mi_new))
                    m_li = pl.add(pl.mul(m_alpha, m_li), pl.mul(m_beta, m_cur_li))
                    m_oi = pl.add(pl.row_expand_mul(m_oi, m_alpha), pl.row_expand_mul(m_cur_oi, m_beta))
                    m_mi = m_mi_new

            n_sink_bias = pl.reshape(attn_sink[m_h0 : m_h0 + H_TILE], [H_TILE, 1])
            n_sink_tile = pl.add(pl.sub(m_mi, m_mi), n_sink_bias)
            n_denom = pl.add(m_li, pl.exp(pl.sub(n_sink_tile, m_mi)))
            n_full = pl.row_expand_div(m_oi, n_denom)[0 : H_TILE, 0 : HEAD_DIM]
            n_bf16 = pl.cast(n_full, target_type=pl.BF16, mode="rint")
            n_rope_row = m_t * H + m_h0
            attn_rope_stage[n_rope_row : n_rope_row + H_TILE, 0 : ROPE_DIM] = n_full[0 : H_TILE, NOPE_DIM : HEAD_DIM]

            for n_hi in pl.range(H_TILE):
                n_gh = m_h0 + n_hi
                n_g = n_gh // HEADS_PER_GROUP
                n_hh = n_gh - n_g * HEADS_PER_GROUP
                n_pack_row = n_g * T + m_t
                n_col = n_hh * HEAD_DIM
                o_packed[n_pack_row : n_pack_row + 1, n_col : n_col + NOPE_DIM] = n_bf16[n_hi : n_hi + 1, 0 : NOPE_DIM]


def _exp(x):
    """The interpreter evaluates exp in FP64 and rounds to FP32 once."""
    return np.exp(x.astype(np.float64)).astype(np.float32)


def golden(sparse_blk_mi, sparse_blk_li, sparse_blk_oi, attn_sink, attn_rope_stage, o_packed):
    rope = attn_rope_stage.copy()
    packed = o_packed.copy()
    for t in range(T):
        for h in range(H // H_TILE):
            base = (t * (H // H_TILE) + h) * SPARSE_BLOCKS * H_TILE
            rows = np.s_[base : base + H_TILE]
            m, l, o = sparse_blk_mi[rows], sparse_blk_li[rows], sparse_blk_oi[rows]
            for sb in range(1, SPARSE_BLOCKS):
                cur = np.s_[base + sb * H_TILE : base + (sb + 1) * H_TILE]
                m_new = np.maximum(m, sparse_blk_mi[cur])
                alpha, beta = _exp(m - m_new), _exp(sparse_blk_mi[cur] - m_new)
                l = alpha * l + beta * sparse_blk_li[cur]
                o = o * alpha + sparse_blk_oi[cur] * beta
                m = m_new
            sink = attn_sink[h * H_TILE : (h + 1) * H_TILE].reshape(H_TILE, 1)
            denom = l + _exp((m - m) + sink - m)
            full = o / denom
            rope[t * H + h * H_TILE : t * H + (h + 1) * H_TILE] = full[:, NOPE_DIM:]
            for hi in range(H_TILE):
                gh = h * H_TILE + hi
                g, hh = divmod(gh, HEADS_PER_GROUP)
                packed[g * T + t, hh * HEAD_DIM : hh * HEAD_DIM + NOPE_DIM] = full[hi, :NOPE_DIM].astype(packed.dtype)
    return {"attn_rope_stage": rope, "o_packed": packed}


CASES = [
    pt.Case("merge_norm_seed003", merge_norm, {
        "sparse_blk_mi": pt.normal((BLK_ROWS, 1), pl.FP32, seed=1, scale=2.0),
        "sparse_blk_li": pt.uniform((BLK_ROWS, 1), pl.FP32, 0.5, 4.0, seed=2),
        "sparse_blk_oi": pt.normal((BLK_ROWS, HEAD_DIM), pl.FP32, seed=3),
        "attn_sink": pt.normal((H,), pl.FP32, seed=4),
        "attn_rope_stage": pt.zeros((T * H, ROPE_DIM), pl.FP32),
        "o_packed": pt.zeros((O_GROUPS * T, O_GROUP_IN), pl.BF16),
    }, golden, atol=0.0, rtol=0.0),  # the golden repeats every FP32 step in the same order: exact
]
