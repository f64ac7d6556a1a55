"""The tail of sparse attention: inverse RoPE of the attention output's rope dims, then the grouped
output projection (pypto-lib.md §2.2 `rope_cs`, `proj_a_mm`, `quant`, `proj_b_mm`, `proj_b_act`).

    o_packed [G*T, HPG*head_dim] BF16   row g*T+t: token t's heads of group g, side by side
    proj_a:  o_a[g] = o_packed[g] @ wo_a[g]                 BF16 x BF16 -> FP32, K-tiled accumulation
    quant:   per (group, token) row: amax floored at eps, scale = amax / 127, q = rint(o_a / scale)
    proj_b:  out = BF16( (sum_g FP32(q[g] @ wo_b[g]) * scale[g]) * wo_b_scale )   INT8 x INT8 -> INT32

Weights are stored [in, out]: wo_a [G*HPG*head_dim, o_lora] (group g's rows g*HPG*head_dim..),
wo_b [G*o_lora, hidden] INT8 with a per-output-channel FP32 scale [1, hidden].
"""
from __future__ import annotations

import pto.language as pl

from .sparse_attn_shape import AttnShape


@pl.jit.inline
def inverse_rope(attn_rope_stage, rope_cos, rope_sin, o_packed, s: AttnShape):
    """Rotate each head's rope dims back by the token's angle (interleaved pairs (2i, 2i+1)):
    y0 = x0*cos + x1*sin, y1 = x1*cos - x0*sin; BF16 into the head's rope columns of o_packed."""
    H, R, R2 = s.heads, s.rope_dim, s.rope_dim // 2
    for t in pl.spmd(s.tokens, name_hint="rope_cs"):
        pairs = pl.reshape(attn_rope_stage[t * H:(t + 1) * H, 0:R], [H * R2, 2])
        x0 = pairs[:, 0:1]
        x1 = pairs[:, 1:2]
        # one (cos, sin) per pair, the same for every head of the token
        cos = pl.reshape(pl.col_expand(pl.full([H, R2], dtype=pl.FP32, value=0.0), rope_cos[t:t + 1, 0:R2]), [H * R2, 1])
        sin = pl.reshape(pl.col_expand(pl.full([H, R2], dtype=pl.FP32, value=0.0), rope_sin[t:t + 1, 0:R2]), [H * R2, 1])
        y0 = pl.add(pl.mul(x0, cos), pl.mul(x1, sin))
        y1 = pl.sub(pl.mul(x1, cos), pl.mul(x0, sin))
        y = pl.full([H * R2, 2], dtype=pl.BF16, value=0.0)
        y = pl.assemble(y, pl.cast(y0, pl.BF16), [0, 0])
        y = pl.assemble(y, pl.cast(y1, pl.BF16), [0, 1])
        rotated = pl.reshape(y, [H, R])
        for h in pl.range(H):
            g = h // s.heads_per_group
            col = (h - g * s.heads_per_group) * s.head_dim + s.nope_dim
            o_packed[g * s.tokens + t:g * s.tokens + t + 1, col:col + R] = rotated[h:h + 1, 0:R]


@pl.jit.inline
def proj_a(o_packed, wo_a, o_a, s: AttnShape):
    """o_a[g*T:(g+1)*T] = o_packed[g] @ wo_a[g], one SPMD block per (group, column tile)."""
    T, n_tiles = s.tokens, s.o_lora // s.a_n
    for b in pl.spmd(s.groups * n_tiles, name_hint="proj_a_mm"):
        g = b // n_tiles
        n0 = (b - g * n_tiles) * s.a_n
        w0 = g * s.group_in
        acc = pl.matmul(o_packed[g * T:(g + 1) * T, 0:s.a_k], wo_a[w0:w0 + s.a_k, n0:n0 + s.a_n], out_dtype=pl.FP32)
        for k in pl.range(1, s.group_in // s.a_k):
            k0 = k * s.a_k
            acc = pl.matmul_acc(acc, o_packed[g * T:(g + 1) * T, k0:k0 + s.a_k],
                                wo_a[w0 + k0:w0 + k0 + s.a_k, n0:n0 + s.a_n])
        o_a[g * T:(g + 1) * T, n0:n0 + s.a_n] = acc


@pl.jit.inline
def quant_rows(o_a, o_q, o_scale, s: AttnShape):
    """Per-row INT8: amax = max(max|x|, eps), scale = amax / 127, q = rint(x / scale) (|q| <= 127)."""
    T = s.tokens
    for g in pl.spmd(s.groups, name_hint="quant"):
        x = o_a[g * T:(g + 1) * T, 0:s.o_lora]
        amax = pl.maximum(pl.row_max(pl.abs(x)), s.cfg.int8_amax_eps)
        scale = pl.div(amax, 127.0)
        o_q[g * T:(g + 1) * T, 0:s.o_lora] = pl.cast(pl.row_expand_div(x, scale), pl.INT8, mode="rint")
        o_scale[g * T:(g + 1) * T, 0:1] = scale


@pl.jit.inline
def proj_b(o_q, o_scale, wo_b, wo_b_scale, out, s: AttnShape):
    """out[:, n] = BF16((sum_g FP32(q[g] @ wo_b[g][:, n]) * scale[g]) * wo_b_scale[n]); the INT32
    product is exact and |acc| <= o_lora * 127 * 127 < 2**24, so its FP32 conversion is exact too."""
    T = s.tokens
    for b in pl.spmd(s.hidden // s.b_n, name_hint="proj_b"):
        n0 = b * s.b_n
        total = pl.full([T, s.b_n], dtype=pl.FP32, value=0.0)
        for g in pl.range(s.groups):
            r0 = g * s.o_lora
            acc = pl.matmul(o_q[g * T:(g + 1) * T, 0:s.b_k], wo_b[r0:r0 + s.b_k, n0:n0 + s.b_n])
            for k in pl.range(1, s.o_lora // s.b_k):
                k0 = k * s.b_k
                acc = pl.matmul_acc(acc, o_q[g * T:(g + 1) * T, k0:k0 + s.b_k], wo_b[r0 + k0:r0 + k0 + s.b_k, n0:n0 + s.b_n])
            total = pl.add(total, pl.row_expand_mul(pl.cast(acc, pl.FP32), o_scale[g * T:(g + 1) * T, 0:1]))
        out[0:T, n0:n0 + s.b_n] = pl.cast(pl.col_expand_mul(total, wo_b_scale[0:1, n0:n0 + s.b_n]), pl.BF16)


@pl.jit.inline
def grouped_o_proj(o_packed, wo_a, wo_b, wo_b_scale, out, s: AttnShape):
    """proj_a -> INT8 quant -> proj_b; the intermediates are created here, at first use."""
    o_a = pl.create_tensor([s.groups * s.tokens, s.o_lora], dtype=pl.FP32)
    proj_a(o_packed, wo_a, o_a, s)
    o_q = pl.create_tensor([s.groups * s.tokens, s.o_lora], dtype=pl.INT8)
    o_scale = pl.create_tensor([s.groups * s.tokens, 1], dtype=pl.FP32)
    quant_rows(o_a, o_q, o_scale, s)
    proj_b(o_q, o_scale, wo_b, wo_b_scale, out, s)
