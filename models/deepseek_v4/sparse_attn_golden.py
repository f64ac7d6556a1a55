"""Numpy golden of models/deepseek_v4/sparse_attn.py, written from the math, step by step in the
kernel's dtypes: BF16 gathered rows, FP32 scores and softmax statistics per K-block (exp evaluated
in FP64 and rounded to FP32, as the simulator's exp), BF16 probabilities into an FP32 PV product,
the FP32 merge with the sink, BF16 output packing, BF16 x BF16 -> FP32 K-tiled wo_a, per-row INT8
quant, exact INT8 x INT8 wo_b with FP32 dequant. The K-tiling of the matmuls is the kernel's (same
shapes, same accumulation order)."""
from __future__ import annotations

import ml_dtypes
import numpy as np

from .sparse_attn import NEG_INF
from .sparse_attn_shape import AttnShape

F32 = np.float32


def _exp(x):
    with np.errstate(over="ignore"):  # exp(sink + 1e30) of an all-invalid row is inf on purpose
        return np.exp(x.astype(np.float64)).astype(F32)


def _bf16(x):
    return np.asarray(x, F32).astype(ml_dtypes.bfloat16).astype(F32)


def gather(cache, idx):
    """Rows cache[idx] (FP32 copies of the BF16 values), zero and NEG_INF bias where idx == -1."""
    valid = idx >= 0
    rows = np.where(valid[..., None], cache[np.where(valid, idx, 0)].astype(F32), F32(0))
    return rows, np.where(valid, F32(0), F32(NEG_INF))


def block_stats(q_t, kv, bias, s: AttnShape):
    """[(m, l, o)] per K-block for one token's heads: q_t [H, D], kv [topk, D], bias [topk]."""
    stats = []
    for sb in range(s.blocks):
        ks = slice(sb * s.k_tile, (sb + 1) * s.k_tile)
        per_tile = []
        for hb in range(s.head_tiles):
            qt = q_t[hb * s.h_tile:(hb + 1) * s.h_tile]
            scores = (qt @ kv[ks].T) * F32(s.cfg.softmax_scale) + bias[ks][None, :]
            m = scores.max(axis=1, keepdims=True)
            e = _exp(scores - m)
            per_tile.append((m, e.sum(axis=1, keepdims=True, dtype=F32), _bf16(e) @ kv[ks]))
        stats.append(tuple(np.concatenate(x) for x in zip(*per_tile)))
    return stats


def merge(stats, sink):
    m, l, o = stats[0]
    for m_cur, l_cur, o_cur in stats[1:]:
        m_new = np.maximum(m, m_cur)
        alpha, beta = _exp(m - m_new), _exp(m_cur - m_new)
        l = alpha * l + beta * l_cur
        o = o * alpha + o_cur * beta
        m = m_new
    return o / (l + _exp(sink.reshape(-1, 1) - m))


def inverse_rope(x, cos, sin):
    """x [H, R] interleaved pairs; cos/sin [R/2] of the token."""
    x0, x1 = x[:, 0::2], x[:, 1::2]
    y = np.empty_like(x)
    y[:, 0::2] = x0 * cos + x1 * sin
    y[:, 1::2] = x1 * cos - x0 * sin
    return y


def attention_heads(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, s: AttnShape):
    """[T, H, head_dim] attention outputs (BF16-rounded), rope dims rotated back."""
    out = np.zeros((s.tokens, s.heads, s.head_dim), F32)
    for t in range(s.tokens):
        kv, bias = gather(kv_cache, win_idx[t])
        if s.extra:
            kv_c, bias_c = gather(cmp_kv, cmp_idx[t])
            kv, bias = np.concatenate([kv, kv_c]), np.concatenate([bias, bias_c])
        full = merge(block_stats(q[t].astype(F32), kv, bias, s), attn_sink)
        out[t, :, :s.nope_dim] = _bf16(full[:, :s.nope_dim])
        out[t, :, s.nope_dim:] = _bf16(inverse_rope(full[:, s.nope_dim:], rope_cos[t], rope_sin[t]))
    return out


def o_proj(heads, wo_a, wo_b, wo_b_scale, s: AttnShape):
    T, G = s.tokens, s.groups
    packed = heads.reshape(T, G, s.group_in)
    total = np.zeros((T, s.hidden), F32)
    for g in range(G):
        w = wo_a[g * s.group_in:(g + 1) * s.group_in].astype(F32)
        acc = np.zeros((T, s.o_lora), F32)
        for n0 in range(0, s.o_lora, s.a_n):
            a = packed[:, g, 0:s.a_k] @ w[0:s.a_k, n0:n0 + s.a_n]
            for k0 in range(s.a_k, s.group_in, s.a_k):
                a = a + packed[:, g, k0:k0 + s.a_k] @ w[k0:k0 + s.a_k, n0:n0 + s.a_n]
            acc[:, n0:n0 + s.a_n] = a
        scale = np.maximum(np.abs(acc).max(axis=1, keepdims=True), F32(s.cfg.int8_amax_eps)) / F32(127)
        q = np.clip(np.rint((acc / scale).astype(np.float64)), -128, 127).astype(np.int64)
        prod = q @ wo_b[g * s.o_lora:(g + 1) * s.o_lora].astype(np.int64)
        total = total + prod.astype(F32) * scale
    return (total * wo_b_scale).astype(ml_dtypes.bfloat16)


def golden(q, kv_cache, win_idx, attn_sink, rope_cos, rope_sin, wo_a, wo_b, wo_b_scale, out, s,
           cmp_kv=None, cmp_idx=None):
    heads = attention_heads(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, s)
    return {"out": o_proj(heads, wo_a, wo_b, wo_b_scale, s)}
