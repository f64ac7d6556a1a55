"""The W8A8 SwiGLU FFN of one M tile of rows, shared by the routed and the shared experts.

For rows x (INT8, per-row scale xs) and expert e's weights (INT8, per-output-channel FP32 scales):
  g = FP32(x @ w1[e]) * xs * w1_scale[e];  u = FP32(x @ w3[e]) * xs * w3_scale[e]   (INT32 matmuls)
  g = min(g, limit);  u = clamp(u, -limit, limit);  h = (g * sigmoid(g)) * u
  hs = max(row_max|h|, 1e-4) / 127;  h_i8 = rint(h / hs)
  y = FP32(h_i8 @ w2[e]) * hs * w2_scale[e] (* routing weight);  out = BF16(y)
The INT8 matmuls accumulate exactly in INT32 (|acc| <= K * 127**2 < 2**31 for K < 133000), so the
K chunking does not change a bit; every float step is one rounding, in the order written above.

Three tasks per tile: `ffn_gate_up` (SPMD over N chunks of F: cube matmuls + vector activation,
also each chunk's row amax), `ffn_h_quant` (the row amax over chunks, requantization), and
`ffn_down` (SPMD over N chunks of D). h and h_i8 round-trip through GM scratch of the tile.
"""
from __future__ import annotations

import pto.language as pl

from models.deepseek_v4.moe_common import quant_scale, quantize_chunks


@pl.jit.inline
def ffn_gate_up(x, x_scale, w1, w1_scale, w3, w3_scale, h, amax_parts, r0, e, MT, s, limit):
    for b in pl.spmd(s.F // s.NC, name_hint="ffn_gate_up"):
        n0 = b * s.NC
        g = pl.full([MT, s.NC], dtype=pl.INT32, value=0)
        u = pl.full([MT, s.NC], dtype=pl.INT32, value=0)
        for c in pl.range(s.D // s.KC):
            xc = x[r0:r0 + MT, c * s.KC:c * s.KC + s.KC]
            g = pl.matmul_acc(g, xc, w1[e * s.D + c * s.KC:e * s.D + c * s.KC + s.KC, n0:n0 + s.NC])
            u = pl.matmul_acc(u, xc, w3[e * s.D + c * s.KC:e * s.D + c * s.KC + s.KC, n0:n0 + s.NC])
        xs = x_scale[r0:r0 + MT, :]
        gf = pl.col_expand_mul(pl.row_expand_mul(pl.cast(g, pl.FP32), xs), w1_scale[e:e + 1, n0:n0 + s.NC])
        uf = pl.col_expand_mul(pl.row_expand_mul(pl.cast(u, pl.FP32), xs), w3_scale[e:e + 1, n0:n0 + s.NC])
        gf = pl.minimum(gf, limit)
        uf = pl.maximum(pl.minimum(uf, limit), -limit)
        hb = pl.mul(pl.mul(gf, pl.sigmoid(gf)), uf)
        h[:, n0:n0 + s.NC] = hb
        amax_parts[:, b:b + 1] = pl.row_max(pl.abs(hb))
    return h


@pl.jit.inline
def ffn_h_quant(h, amax_parts, h_i8, h_scale, MT, s, amax_eps):
    with pl.at(name_hint="ffn_h_quant"):
        scale = quant_scale(pl.row_max(amax_parts[:, :]), amax_eps)
        h_scale[:, :] = scale
        quantize_chunks(h, scale, h_i8, s.F, s.NC)
    return h_i8


@pl.jit.inline
def ffn_down(h_i8, h_scale, w2, w2_scale, route_w, out, r0, e, MT, s):
    for b in pl.spmd(s.D // s.NC, name_hint="ffn_down"):
        n0 = b * s.NC
        acc = pl.full([MT, s.NC], dtype=pl.INT32, value=0)
        for c in pl.range(s.F // s.KC):
            acc = pl.matmul_acc(acc, h_i8[:, c * s.KC:c * s.KC + s.KC],
                                w2[e * s.F + c * s.KC:e * s.F + c * s.KC + s.KC, n0:n0 + s.NC])
        y = pl.col_expand_mul(pl.row_expand_mul(pl.cast(acc, pl.FP32), h_scale[:, :]),
                              w2_scale[e:e + 1, n0:n0 + s.NC])
        if route_w is not None:
            y = pl.row_expand_mul(y, route_w[r0:r0 + MT, :])
        out[r0:r0 + MT, n0:n0 + s.NC] = pl.cast(y, pl.BF16, mode="rint")
    return out


@pl.jit.inline
def swiglu_tile(x, x_scale, w1, w1_scale, w3, w3_scale, w2, w2_scale, route_w, out, r0, e, MT, s, cfg):
    """out[r0:r0 + MT] = the FFN of x[r0:r0 + MT] with expert e's weights (route_w: None or the
    [rows, 1] routing weights to multiply by)."""
    h = pl.create_tensor([MT, s.F], dtype=pl.FP32)
    amax_parts = pl.create_tensor([MT, s.F // s.NC], dtype=pl.FP32)
    ffn_gate_up(x, x_scale, w1, w1_scale, w3, w3_scale, h, amax_parts, r0, e, MT, s, cfg.swiglu_limit)
    h_i8 = pl.create_tensor([MT, s.F], dtype=pl.INT8)
    h_scale = pl.create_tensor([MT, 1], dtype=pl.FP32)
    ffn_h_quant(h, amax_parts, h_i8, h_scale, MT, s, cfg.int8_amax_eps)
    return ffn_down(h_i8, h_scale, w2, w2_scale, route_w, out, r0, e, MT, s)
