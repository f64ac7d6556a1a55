"""DeepSeek-V4 decode sparse attention with the fused grouped output projection, for SWA (window
only), HCA (window + ratio-128 compressed tail) and CSA (window + indexer top-k), written twice as
in seeds/003: with `auto_scope=False` and the thread's three `pl.scope()` blocks, and with
automatic scopes. pypto-lib.md §2.2 (`decode_sparse_attn_{swa,hca,csa}`), §5.3.

Per token t (one decode row) with q [T, H, head_dim] (RoPE already applied to its last rope dims):
  gather     token t's KV rows: window rows of the original cache by physical row index, then the
             compressed rows (HCA/CSA) of the compressed cache; index -1 = no row: a zero row and
             a -1e30 score bias (so it gets probability 0 wherever a valid row exists)
  qk_pv      per K-block of `k_tile` rows and head tile: scores = q k^T * head_dim^-0.5 + bias,
             block max m, e = exp(scores - m), l = sum e, o = BF16(e) @ v      (v = k: MQA rows)
  merge_norm online-softmax merge of the blocks, then o / (l + exp(sink_h - m)): the attention
             sink is one more logit in the denominator with no value
  rope_cs    inverse RoPE on the output's rope dims, and the grouped o-projection
             (sparse_attn_oproj.py).
An all-invalid row yields m = -1e30, l = k_tile per block, o = 0, and exp(sink + 1e30) = inf in the
denominator: the output is exactly 0.

    python -m pto.cli run models/deepseek_v4/sparse_attn_cases.py --scope-stats
"""
from __future__ import annotations

import pto.language as pl

from .sparse_attn_oproj import grouped_o_proj, inverse_rope
from .sparse_attn_shape import AttnShape

NEG_INF = -1e30  # not -FLT_MAX: bias + score must stay finite so exp(score - max) is never NaN


@pl.jit.inline
def gather_rows(cache, idx, sparse_kv, sparse_bias, col0, s: AttnShape):
    """sparse_kv row t*topk + col0 + j = cache[idx[t, j]] (zero for -1), bias 0 or NEG_INF."""
    n, rows = idx.shape[1], s.gather_rows
    for t in pl.spmd(s.tokens, name_hint="kv_gather"):
        for c in pl.range(n // rows):
            c0 = c * rows
            ids = idx[t:t + 1, c0:c0 + rows]
            row_ids = pl.row_expand(pl.full([rows, s.head_dim], dtype=pl.INT32, value=0), pl.reshape(ids, [rows, 1]))
            dst = t * s.topk + col0 + c0
            sparse_kv[dst:dst + rows, 0:s.head_dim] = pl.gather(cache, row_ids, dim=0, mode="skip")
            sparse_bias[t:t + 1, col0 + c0:col0 + c0 + rows] = pl.where(
                pl.ge(ids, 0), pl.full([1, rows], dtype=pl.FP32, value=0.0), NEG_INF)


@pl.jit.inline
def gather_kv(kv_cache, win_idx, cmp_kv, cmp_idx, sparse_kv, sparse_bias, s: AttnShape):
    gather_rows(kv_cache, win_idx, sparse_kv, sparse_bias, 0, s)
    if s.extra:
        gather_rows(cmp_kv, cmp_idx, sparse_kv, sparse_bias, s.cfg.window, s)


@pl.jit.inline
def qk_pv(q_flat, sparse_kv, sparse_bias, blk_mi, blk_li, blk_oi, s: AttnShape):
    """Per (token, K-block, head tile): the block's max, exp-sum and BF16-probability PV product."""
    D, K, HT = s.head_dim, s.k_tile, s.h_tile
    for t in pl.spmd(s.tokens, name_hint="qk_pv"):
        for sb in pl.range(s.blocks):
            k0 = t * s.topk + sb * K
            kv = sparse_kv[k0:k0 + K, 0:D]
            bias = sparse_bias[t:t + 1, sb * K:(sb + 1) * K]
            for hb in pl.range(s.head_tiles):
                q0 = t * s.heads + hb * HT
                raw = pl.matmul(q_flat[q0:q0 + HT, 0:D], kv, b_trans=True, out_dtype=pl.FP32)
                scores = pl.col_expand_add(pl.mul(raw, s.cfg.softmax_scale), bias)
                mi = pl.row_max(scores)
                e = pl.exp(pl.row_expand_sub(scores, mi))
                row = s.blk_row(t, hb, sb)
                blk_mi[row:row + HT, 0:1] = mi
                blk_li[row:row + HT, 0:1] = pl.row_sum(e)
                blk_oi[row:row + HT, 0:D] = pl.matmul(pl.cast(e, pl.BF16), kv, out_dtype=pl.FP32)


@pl.jit.inline
def merge_norm(blk_mi, blk_li, blk_oi, attn_sink, attn_rope_stage, o_packed, s: AttnShape):
    """Merge the blocks, divide by the sink-augmented denominator; nope dims -> BF16 o_packed,
    rope dims -> FP32 attn_rope_stage (inverse RoPE follows)."""
    D, HT, T = s.head_dim, s.h_tile, s.tokens
    for t in pl.spmd(T, name_hint="merge_norm"):
        for hb in pl.range(s.head_tiles):
            r0 = s.blk_row(t, hb, 0)
            m = blk_mi[r0:r0 + HT, 0:1]
            li = blk_li[r0:r0 + HT, 0:1]
            oi = blk_oi[r0:r0 + HT, 0:D]
            for sb in pl.range(1, s.blocks):
                r = r0 + sb * HT
                m_cur = blk_mi[r:r + HT, 0:1]
                m_new = pl.maximum(m, m_cur)
                alpha = pl.exp(pl.sub(m, m_new))
                beta = pl.exp(pl.sub(m_cur, m_new))
                li = pl.add(pl.mul(alpha, li), pl.mul(beta, blk_li[r:r + HT, 0:1]))
                oi = pl.add(pl.row_expand_mul(oi, alpha), pl.row_expand_mul(blk_oi[r:r + HT, 0:D], beta))
                m = m_new
            sink = pl.reshape(attn_sink[hb * HT:(hb + 1) * HT], [HT, 1])
            full = pl.row_expand_div(oi, pl.add(li, pl.exp(pl.sub(sink, m))))
            h0 = t * s.heads + hb * HT
            attn_rope_stage[h0:h0 + HT, 0:s.rope_dim] = full[0:HT, s.nope_dim:D]
            nope = pl.cast(full[0:HT, 0:s.nope_dim], pl.BF16)
            for hi in pl.range(HT):
                h = hb * HT + hi
                g = h // s.heads_per_group
                col = (h - g * s.heads_per_group) * D
                o_packed[g * T + t:g * T + t + 1, col:col + s.nope_dim] = nope[hi:hi + 1, 0:s.nope_dim]


def _attention_buffers(s: AttnShape):
    return (pl.create_tensor([s.blk_rows, 1], dtype=pl.FP32), pl.create_tensor([s.blk_rows, 1], dtype=pl.FP32),
            pl.create_tensor([s.blk_rows, s.head_dim], dtype=pl.FP32))


@pl.jit.inline
def sparse_attn_scoped(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b,
                       wo_b_scale, out, s: AttnShape):
    """The seeds/003 placement: S1 gather, S2 attention, S3 inverse RoPE + o-projection. Buffers that
    cross a scope boundary (sparse_kv/bias into S2, attn_rope_stage/o_packed into S3) live in the
    function frame; everything else is created inside the scope that uses it."""
    sparse_kv = pl.create_tensor([s.tokens * s.topk, s.head_dim], dtype=pl.BF16)
    sparse_bias = pl.create_tensor([s.tokens, s.topk], dtype=pl.FP32)
    with pl.scope():  # S1
        gather_kv(kv_cache, win_idx, cmp_kv, cmp_idx, sparse_kv, sparse_bias, s)
    attn_rope_stage = pl.create_tensor([s.tokens * s.heads, s.rope_dim], dtype=pl.FP32)
    o_packed = pl.create_tensor([s.groups * s.tokens, s.group_in], dtype=pl.BF16)
    with pl.scope():  # S2
        q_flat = pl.reshape(q, [s.tokens * s.heads, s.head_dim])
        blk_mi, blk_li, blk_oi = _attention_buffers(s)
        qk_pv(q_flat, sparse_kv, sparse_bias, blk_mi, blk_li, blk_oi, s)
        merge_norm(blk_mi, blk_li, blk_oi, attn_sink, attn_rope_stage, o_packed, s)
    with pl.scope():  # S3
        inverse_rope(attn_rope_stage, rope_cos, rope_sin, o_packed, s)
        grouped_o_proj(o_packed, wo_a, wo_b, wo_b_scale, out, s)


@pl.jit.inline
def sparse_attn_auto(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b,
                     wo_b_scale, out, s: AttnShape):
    """The same phases with no scopes: every buffer is declared at first use and the compiler places
    the lifetimes."""
    sparse_kv = pl.create_tensor([s.tokens * s.topk, s.head_dim], dtype=pl.BF16)
    sparse_bias = pl.create_tensor([s.tokens, s.topk], dtype=pl.FP32)
    gather_kv(kv_cache, win_idx, cmp_kv, cmp_idx, sparse_kv, sparse_bias, s)
    q_flat = pl.reshape(q, [s.tokens * s.heads, s.head_dim])
    blk_mi, blk_li, blk_oi = _attention_buffers(s)
    qk_pv(q_flat, sparse_kv, sparse_bias, blk_mi, blk_li, blk_oi, s)
    attn_rope_stage = pl.create_tensor([s.tokens * s.heads, s.rope_dim], dtype=pl.FP32)
    o_packed = pl.create_tensor([s.groups * s.tokens, s.group_in], dtype=pl.BF16)
    merge_norm(blk_mi, blk_li, blk_oi, attn_sink, attn_rope_stage, o_packed, s)
    inverse_rope(attn_rope_stage, rope_cos, rope_sin, o_packed, s)
    grouped_o_proj(o_packed, wo_a, wo_b, wo_b_scale, out, s)


# --- entries: SWA takes no compressed cache; HCA and CSA share a signature --------------------------
@pl.jit(auto_scope=False)
def sparse_attn_swa_manual(q, kv_cache, win_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b, wo_b_scale,
                           out: pl.Out, s):
    sparse_attn_scoped(q, kv_cache, win_idx, None, None, attn_sink, rope_cos, rope_sin, wo_a, wo_b, wo_b_scale, out, s)


@pl.jit
def sparse_attn_swa_auto(q, kv_cache, win_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b, wo_b_scale,
                         out: pl.Out, s):
    sparse_attn_auto(q, kv_cache, win_idx, None, None, attn_sink, rope_cos, rope_sin, wo_a, wo_b, wo_b_scale, out, s)


@pl.jit(auto_scope=False)
def sparse_attn_cmp_manual(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b,
                           wo_b_scale, out: pl.Out, s):
    """HCA (cmp_idx = the ratio-128 tail) and CSA (cmp_idx = indexer top-k), manual scopes."""
    sparse_attn_scoped(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b,
                       wo_b_scale, out, s)


@pl.jit
def sparse_attn_cmp_auto(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b,
                         wo_b_scale, out: pl.Out, s):
    """HCA and CSA, automatic scopes."""
    sparse_attn_auto(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b,
                     wo_b_scale, out, s)
