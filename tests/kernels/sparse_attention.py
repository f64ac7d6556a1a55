"""DeepSeek-V4 sparse attention in the three phases of seeds/003 (small shapes), written twice:
with `auto_scope=False` and the thread's three `pl.scope()` blocks (KV gather / attention /
output projection), and with automatic scopes. The phase bodies follow the seed: the gather of the
top-k KV rows (index -1 = invalid: zero row, -1e30 bias), the qk_pv SPMD kernel (QK^T, block softmax
stats, PV), the merge_norm SPMD kernel (online-softmax merge + sink), and a grouped projection.

    pto run tests/kernels/sparse_attention.py --scope-stats
"""
import contextlib

import ml_dtypes
import numpy as np

import pto.language as pl
from pto import testing as pt

T, H, H_TILE, QK_M_TILE = 2, 16, 8, 16
HEAD_DIM, ROPE_DIM = 64, 16
NOPE_DIM = HEAD_DIM - ROPE_DIM
ATTN_K_TILE, SPARSE_BLOCKS = 16, 2
PADDED_TOPK = ATTN_K_TILE * SPARSE_BLOCKS
CACHE_ROWS = 48
O_GROUPS = 2
HEADS_PER_GROUP = H // O_GROUPS
O_GROUP_IN = HEADS_PER_GROUP * HEAD_DIM
O_LORA = 32
SOFTMAX_SCALE = HEAD_DIM ** -0.5
NEG_INF = -1e30
BLK_ROWS = T * (H // H_TILE) * SPARSE_BLOCKS * H_TILE


def _phase(manual: bool):
    return pl.scope() if manual else contextlib.nullcontext()


@pl.jit.inline
def sparse_attn(q, kv_cache, topk_idx, attn_sink, wo, rope_cos, out, manual):
    sparse_kv = pl.create_tensor([T * PADDED_TOPK, HEAD_DIM], dtype=pl.BF16)
    sparse_bias = pl.create_tensor([T, PADDED_TOPK], dtype=pl.FP32)
    with _phase(manual):  # S1: gather the selected KV rows
        for g_t in pl.spmd(T, name_hint="kv_gather"):
            for g_k in pl.range(PADDED_TOPK):
                g_idx = pl.read(topk_idx, [g_t, g_k])
                g_row = g_t * PADDED_TOPK + g_k
                if g_idx >= 0:
                    sparse_kv[g_row : g_row + 1, 0:HEAD_DIM] = kv_cache[g_idx : g_idx + 1, 0:HEAD_DIM]
                    pl.write(sparse_bias, [g_t, g_k], pl.const(0.0, pl.FP32))
                else:
                    sparse_kv[g_row : g_row + 1, 0:HEAD_DIM] = pl.full([1, HEAD_DIM], dtype=pl.BF16, value=0.0)
                    pl.write(sparse_bias, [g_t, g_k], pl.const(NEG_INF, pl.FP32))

    attn_rope_stage = pl.create_tensor([T * H, ROPE_DIM], dtype=pl.FP32)
    o_packed = pl.create_tensor([O_GROUPS * T, O_GROUP_IN], dtype=pl.BF16)
    with _phase(manual):  # S2: attention
        q_flat = pl.reshape(q, [T * H, HEAD_DIM])
        sparse_blk_mi = pl.create_tensor([BLK_ROWS, 1], dtype=pl.FP32)
        sparse_blk_li = pl.create_tensor([BLK_ROWS, 1], dtype=pl.FP32)
        sparse_blk_oi = pl.create_tensor([BLK_ROWS, HEAD_DIM], dtype=pl.FP32)
        for qk_t in pl.spmd(T, name_hint="qk_pv"):
            qk_kv_base = qk_t * PADDED_TOPK
            qk_token_base = qk_t * (H // H_TILE) * SPARSE_BLOCKS * H_TILE
            for qk_sb in pl.range(SPARSE_BLOCKS):
                qk_s0 = qk_sb * ATTN_K_TILE
                qk_kv_k = sparse_kv[qk_kv_base + qk_s0 : qk_kv_base + qk_s0 + ATTN_K_TILE, 0:HEAD_DIM]
                qk_kv_v = sparse_kv[qk_kv_base + qk_s0 : qk_kv_base + qk_s0 + ATTN_K_TILE, 0:HEAD_DIM]
                qk_bias_row = sparse_bias[qk_t : qk_t + 1, qk_s0 : qk_s0 + ATTN_K_TILE]
                for qk_hb in pl.pipeline(H // QK_M_TILE, stage=2):
                    qk_h0 = qk_hb * QK_M_TILE
                    qk_head_row = qk_t * H + qk_h0
                    qk_q_tile = q_flat[qk_head_row : qk_head_row + QK_M_TILE, 0:HEAD_DIM]
                    qk_raw = pl.matmul(qk_q_tile, qk_kv_k, b_trans=True, out_dtype=pl.FP32)
                    qk_scaled = pl.mul(qk_raw, SOFTMAX_SCALE)
                    qk_scores = pl.add(qk_scaled, pl.col_expand(
                        pl.full([QK_M_TILE, ATTN_K_TILE], dtype=pl.FP32, value=0.0), qk_bias_row))
                    qk_mi = pl.row_max(qk_scores)
                    qk_exp = pl.exp(pl.row_expand_sub(qk_scores, qk_mi))
                    qk_li = pl.row_sum(qk_exp)
                    qk_exp_bf16 = pl.cast(qk_exp, target_type=pl.BF16, mode="rint")
                    qk_oi = pl.matmul(qk_exp_bf16, qk_kv_v, out_dtype=pl.FP32)
                    for qk_sub in pl.unroll(QK_M_TILE // H_TILE):
                        qk_h_idx = qk_hb * (QK_M_TILE // H_TILE) + qk_sub
                        qk_r0 = qk_sub * H_TILE
                        qk_blk_base = qk_token_base + qk_h_idx * SPARSE_BLOCKS * H_TILE
                        qk_row = qk_blk_base + qk_sb * H_TILE
                        sparse_blk_mi[qk_row : qk_row + H_TILE, 0:1] = qk_mi[qk_r0 : qk_r0 + H_TILE, 0:1]
                        sparse_blk_li[qk_row : qk_row + H_TILE, 0:1] = qk_li[qk_r0 : qk_r0 + H_TILE, 0:1]
                        sparse_blk_oi[qk_row : qk_row + H_TILE, 0:HEAD_DIM] = qk_oi[qk_r0 : qk_r0 + H_TILE, 0:HEAD_DIM]

        for m_t in pl.spmd(T, name_hint="merge_norm"):
            m_token_base = m_t * (H // H_TILE) * SPARSE_BLOCKS * H_TILE
            for m_h_idx in pl.range(H // H_TILE):
                m_h0 = m_h_idx * H_TILE
                m_blk_base = m_token_base + m_h_idx * SPARSE_BLOCKS * H_TILE
                m_mi = sparse_blk_mi[m_blk_base : m_blk_base + H_TILE, 0:1]
                m_li = sparse_blk_li[m_blk_base : m_blk_base + H_TILE, 0:1]
                m_oi = sparse_blk_oi[m_blk_base : m_blk_base + H_TILE, 0:HEAD_DIM]
                for m_sb in pl.range(1, SPARSE_BLOCKS):
                    m_row = m_blk_base + m_sb * H_TILE
                    m_cur_mi = sparse_blk_mi[m_row : m_row + H_TILE, 0:1]
                    m_cur_li = sparse_blk_li[m_row : m_row + H_TILE, 0:1]
                    m_cur_oi = sparse_blk_oi[m_row : m_row + H_TILE, 0:HEAD_DIM]
                    m_mi_new = pl.maximum(m_mi, m_cur_mi)
                    m_alpha = pl.exp(pl.sub(m_mi, m_mi_new))
                    m_beta = pl.exp(pl.sub(m_cur_mi, m_mi_new))
                    m_li = pl.add(pl.mul(m_alpha, m_li), pl.mul(m_beta, m_cur_li))
                    m_oi = pl.add(pl.row_expand_mul(m_oi, m_alpha), pl.row_expand_mul(m_cur_oi, m_beta))
                    m_mi = m_mi_new
                n_sink_bias = pl.reshape(attn_sink[m_h0 : m_h0 + H_TILE], [H_TILE, 1])
                n_sink_tile = pl.add(pl.sub(m_mi, m_mi), n_sink_bias)
                n_denom = pl.add(m_li, pl.exp(pl.sub(n_sink_tile, m_mi)))
                n_full = pl.row_expand_div(m_oi, n_denom)
                n_bf16 = pl.cast(n_full, target_type=pl.BF16, mode="rint")
                n_rope_row = m_t * H + m_h0
                attn_rope_stage[n_rope_row : n_rope_row + H_TILE, 0:ROPE_DIM] = n_full[0:H_TILE, NOPE_DIM:HEAD_DIM]
                for n_hi in pl.range(H_TILE):
                    n_gh = m_h0 + n_hi
                    n_g = n_gh // HEADS_PER_GROUP
                    n_hh = n_gh - n_g * HEADS_PER_GROUP
                    n_pack_row = n_g * T + m_t
                    n_col = n_hh * HEAD_DIM
                    o_packed[n_pack_row : n_pack_row + 1, n_col : n_col + NOPE_DIM] = n_bf16[n_hi : n_hi + 1, 0:NOPE_DIM]

    with _phase(manual):  # S3: inverse RoPE into the packed rows, then the grouped output projection
        for r_t in pl.spmd(T, name_hint="inv_rope"):
            for r_h in pl.range(H):
                r_row = r_t * H + r_h
                r_g = r_h // HEADS_PER_GROUP
                r_hh = r_h - r_g * HEADS_PER_GROUP
                r_val = pl.mul(attn_rope_stage[r_row : r_row + 1, 0:ROPE_DIM], rope_cos[r_row : r_row + 1, 0:ROPE_DIM])
                r_col = r_hh * HEAD_DIM + NOPE_DIM
                o_packed[r_g * T + r_t : r_g * T + r_t + 1, r_col : r_col + ROPE_DIM] = pl.cast(r_val, pl.BF16)
        for o_g in pl.spmd(O_GROUPS, name_hint="o_proj"):
            o_rows = o_g * T
            o_w0 = o_g * O_GROUP_IN
            o_c0 = o_g * O_LORA
            out[0:T, o_c0 : o_c0 + O_LORA] = pl.matmul(
                o_packed[o_rows : o_rows + T, 0:O_GROUP_IN], wo[o_w0 : o_w0 + O_GROUP_IN, 0:O_LORA], out_dtype=pl.FP32)


@pl.jit(auto_scope=False)
def sparse_attn_manual(q: pl.Tensor[[T, H, HEAD_DIM], pl.BF16], kv_cache: pl.Tensor[[CACHE_ROWS, HEAD_DIM], pl.BF16],
                       topk_idx: pl.Tensor[[T, PADDED_TOPK], pl.INT32], attn_sink: pl.Tensor[[H], pl.FP32],
                       wo: pl.Tensor[[O_GROUPS * O_GROUP_IN, O_LORA], pl.BF16],
                       rope_cos: pl.Tensor[[T * H, ROPE_DIM], pl.FP32],
                       out: pl.Out[pl.Tensor[[T, O_GROUPS * O_LORA], pl.FP32]]):
    sparse_attn(q, kv_cache, topk_idx, attn_sink, wo, rope_cos, out, True)


@pl.jit
def sparse_attn_auto(q: pl.Tensor[[T, H, HEAD_DIM], pl.BF16], kv_cache: pl.Tensor[[CACHE_ROWS, HEAD_DIM], pl.BF16],
                     topk_idx: pl.Tensor[[T, PADDED_TOPK], pl.INT32], attn_sink: pl.Tensor[[H], pl.FP32],
                     wo: pl.Tensor[[O_GROUPS * O_GROUP_IN, O_LORA], pl.BF16],
                     rope_cos: pl.Tensor[[T * H, ROPE_DIM], pl.FP32],
                     out: pl.Out[pl.Tensor[[T, O_GROUPS * O_LORA], pl.FP32]]):
    sparse_attn(q, kv_cache, topk_idx, attn_sink, wo, rope_cos, out, False)


def _exp(x):
    return np.exp(x.astype(np.float64)).astype(np.float32)


def _bf16(x):
    return x.astype(ml_dtypes.bfloat16)


def golden(q, kv_cache, topk_idx, attn_sink, wo, rope_cos, out):
    """Mirrors the kernel: BF16 gather, FP32 scores and softmax stats per K tile, BF16 probabilities
    into an FP32 PV product, the FP32 online merge with the sink, BF16 packing, FP32 projection."""
    f32 = np.float32
    q_flat = q.reshape(T * H, HEAD_DIM).astype(f32)
    kv = np.zeros((T * PADDED_TOPK, HEAD_DIM), f32)
    bias = np.zeros((T, PADDED_TOPK), f32)
    for t in range(T):
        for k in range(PADDED_TOPK):
            i = topk_idx[t, k]
            kv[t * PADDED_TOPK + k] = kv_cache[i].astype(f32) if i >= 0 else 0.0
            bias[t, k] = 0.0 if i >= 0 else NEG_INF
    rope = np.zeros((T * H, ROPE_DIM), f32)
    packed = np.zeros((O_GROUPS * T, O_GROUP_IN), f32)
    for t in range(T):
        stats = []
        for sb in range(SPARSE_BLOCKS):
            kb = kv[t * PADDED_TOPK + sb * ATTN_K_TILE:][:ATTN_K_TILE]
            s = (q_flat[t * H:(t + 1) * H] @ kb.T) * f32(SOFTMAX_SCALE) + bias[t, sb * ATTN_K_TILE:][:ATTN_K_TILE]
            mi = s.max(axis=1, keepdims=True)
            e = _exp(s - mi)
            stats.append((mi, e.sum(axis=1, keepdims=True, dtype=f32), _bf16(e).astype(f32) @ kb))
        for h in range(H // H_TILE):
            rows = slice(h * H_TILE, (h + 1) * H_TILE)
            m, l, o = (x[rows] for x in stats[0])
            for mi, li, oi in stats[1:]:
                m_new = np.maximum(m, mi[rows])
                a, b = _exp(m - m_new), _exp(mi[rows] - m_new)
                l, o, m = a * l + b * li[rows], o * a + oi[rows] * b, m_new
            sink = attn_sink[rows].reshape(H_TILE, 1)
            full = o / (l + _exp((m - m) + sink - m))
            rope[t * H + h * H_TILE:][:H_TILE] = full[:, NOPE_DIM:]
            for hi in range(H_TILE):
                g, hh = divmod(h * H_TILE + hi, HEADS_PER_GROUP)
                packed[g * T + t, hh * HEAD_DIM:hh * HEAD_DIM + NOPE_DIM] = _bf16(full[hi, :NOPE_DIM]).astype(f32)
    for t in range(T):
        for h in range(H):
            g, hh = divmod(h, HEADS_PER_GROUP)
            col = hh * HEAD_DIM + NOPE_DIM
            packed[g * T + t, col:col + ROPE_DIM] = _bf16(rope[t * H + h] * rope_cos[t * H + h]).astype(f32)
    packed_bf16 = _bf16(packed)
    expected = out.copy()
    for g in range(O_GROUPS):
        expected[:, g * O_LORA:(g + 1) * O_LORA] = (
            packed_bf16[g * T:(g + 1) * T].astype(f32) @ wo[g * O_GROUP_IN:(g + 1) * O_GROUP_IN].astype(f32))
    return {"out": expected}


def _inputs(seed: int) -> dict:
    return {
        "q": pt.normal((T, H, HEAD_DIM), pl.BF16, seed=seed),
        "kv_cache": pt.normal((CACHE_ROWS, HEAD_DIM), pl.BF16, seed=seed + 1),
        "topk_idx": pt.randint((T, PADDED_TOPK), pl.INT32, -1, CACHE_ROWS, seed=seed + 2),
        "attn_sink": pt.normal((H,), pl.FP32, seed=seed + 3),
        "wo": pt.normal((O_GROUPS * O_GROUP_IN, O_LORA), pl.BF16, seed=seed + 4, scale=0.1),
        "rope_cos": pt.uniform((T * H, ROPE_DIM), pl.FP32, -1.0, 1.0, seed=seed + 5),
        "out": pt.zeros((T, O_GROUPS * O_LORA), pl.FP32),
    }


# Tolerance: the golden repeats every FP32/BF16 step; only numpy's matmul summation order may differ
# from the interpreter's (same shapes, so in practice bitwise). 1e-5 relative covers a few FP32 ulps.
CASES = [
    pt.Case("sparse_attn_manual_scopes", sparse_attn_manual, _inputs(10), golden, atol=1e-6, rtol=1e-5),
    pt.Case("sparse_attn_auto_scopes", sparse_attn_auto, _inputs(10), golden, atol=1e-6, rtol=1e-5),
]
