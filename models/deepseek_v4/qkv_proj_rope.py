"""The attention projections of a decode step (pypto-lib.md §2.2 `qkv_proj_rope`, §2.6): from the
RMS-normed token rows x [T, D] BF16 to the query heads, the step's KV row and the INT8 query LoRA
the indexer reuses.

  q path   qa = x @ wq_a (BF16 x BF16 -> FP32, K-tiled);  qn = RMSNorm(qa) * gamma_cq
           per row INT8: scale = max(amax|qn|, int8_amax_eps) / 127, qr = rint(qn / scale)
           q_full = FP32(INT32(qr @ wq_b)) * qr_scale * wq_b_scale        (per output column)
           per head: RMS normalisation of its head_dim values (no weight), then interleaved
           RoPE on the last rope_dim, BF16
  kv path  kv = x @ wkv;  RMSNorm * gamma_ckv, interleaved RoPE on the last rope_dim, BF16
RoPE as compressor.norm_rope: pair i = dims (nope + 2i, nope + 2i + 1) of a row rotated by
rope_cos/sin[t, i] (y0 = x0 cos - x1 sin, y1 = x0 sin + x1 cos).

Tiling: the BF16 projections are compressor.project (SPMD over 128-column blocks); the INT8
projection is one SPMD block per head (K tile x head_dim INT8 = 64 KiB at Flash) that dequantizes,
normalizes and rotates its own [T, head_dim] tile, so q_full never goes to GM.

    python -m pto.cli run models/deepseek_v4/qkv_proj_rope.py
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.compressor import norm_rope, norm_rope_rows, project
from models.deepseek_v4 import compressor_cases as C
from models.deepseek_v4.config import FLASH, SMALL, Config
from models.deepseek_v4.moe_common import quant_scale
from models.deepseek_v4.moe_golden import quant_scale as golden_quant_scale

F32 = np.float32

QB_K = 128  # K tile of the INT8 q projection: [128, head_dim] INT8 = 64 KiB of L0B at head_dim 512


@pl.jit.inline
def quant_qr(qa, gamma_cq, qr, qr_scale, cfg):
    """qa [T, q_lora] FP32 -> RMSNorm * gamma -> per-row INT8 qr [T, q_lora] and scale [T, 1]."""
    t_rows, lora = qa.shape
    for t in pl.spmd(t_rows, name_hint="qr_norm_quant"):
        a = qa[t:t + 1, 0:lora]
        inv = pl.rsqrt(pl.add(pl.mul(pl.row_sum(pl.mul(a, a)), 1.0 / lora), cfg.rms_eps))
        qn = pl.col_expand_mul(pl.row_expand_mul(a, inv), pl.cast(gamma_cq[0:1, 0:lora], pl.FP32))
        scale = quant_scale(pl.row_max(pl.abs(qn)), cfg.int8_amax_eps)
        # |qn / scale| <= 127: rint never saturates
        qr[t:t + 1, 0:lora] = pl.cast(pl.row_expand_div(qn, scale), pl.INT8, mode="rint")
        qr_scale[t:t + 1, 0:1] = scale


@pl.jit.inline
def q_heads(qr, qr_scale, wq_b, wq_b_scale, q_flat, rope_cos, rope_sin, cfg):
    """q_flat [T, heads * head_dim] BF16: head h = one SPMD block; INT8 x INT8 -> INT32 is exact,
    and |acc| <= q_lora * 127 * 127 < 2**24, so its FP32 conversion is exact too."""
    T, lora, d = qr.shape[0], qr.shape[1], cfg.head_dim
    k = min(QB_K, lora)
    for h in pl.spmd(cfg.heads, name_hint="q_proj_head"):
        c0 = h * d
        acc = pl.matmul(qr[0:T, 0:k], wq_b[0:k, c0:c0 + d], out_dtype=pl.INT32)
        for kb in pl.range(1, lora // k):
            acc = pl.matmul_acc(acc, qr[0:T, kb * k:(kb + 1) * k], wq_b[kb * k:(kb + 1) * k, c0:c0 + d])
        qf = pl.col_expand_mul(pl.row_expand_mul(pl.cast(acc, pl.FP32), qr_scale[0:T, 0:1]),
                               wq_b_scale[0:1, c0:c0 + d])
        R2 = cfg.rope_dim // 2  # RMS-normalized without a weight, then RoPE
        q_flat[0:T, c0:c0 + d] = norm_rope_rows(qf, None, rope_cos[0:T, 0:R2], rope_sin[0:T, 0:R2], cfg)


@pl.jit.inline
def kv_norm_rope(kvf, gamma_ckv, rope_cos, rope_sin, kv, cfg):
    """kvf [T, head_dim] FP32 -> kv [T, head_dim] BF16: the compressor's RMSNorm + RoPE, per token."""
    d = cfg.head_dim
    for t in pl.spmd(kvf.shape[0], name_hint="kv_norm_rope"):
        g = pl.cast(gamma_ckv[0:1, 0:d], pl.FP32)
        kv[t:t + 1, 0:d] = norm_rope(kvf[t:t + 1, 0:d], g, rope_cos, rope_sin, t, cfg)


@pl.jit.inline
def qkv_proj_rope(x, wq_a, gamma_cq, wq_b, wq_b_scale, wkv, gamma_ckv, rope_cos, rope_sin, q, kv, qr, qr_scale,
                  cfg):
    """x [T, D] BF16; wq_a [D, q_lora], gamma_cq [1, q_lora], wkv [D, head_dim], gamma_ckv
    [1, head_dim] BF16; wq_b [q_lora, heads * head_dim] INT8, wq_b_scale [1, heads * head_dim] FP32;
    rope_cos/sin [T, rope_dim // 2] FP32. Out: q [T, heads, head_dim], kv [T, head_dim] BF16,
    qr [T, q_lora] INT8, qr_scale [T, 1] FP32."""
    T = x.shape[0]
    qa = pl.create_tensor([T, cfg.q_lora], dtype=pl.FP32)
    project(x, wq_a, qa, None, None)
    quant_qr(qa, gamma_cq, qr, qr_scale, cfg)
    q_heads(qr, qr_scale, wq_b, wq_b_scale, pl.reshape(q, [T, cfg.heads * cfg.head_dim]), rope_cos, rope_sin, cfg)
    kvf = pl.create_tensor([T, cfg.head_dim], dtype=pl.FP32)
    project(x, wkv, kvf, None, None)
    kv_norm_rope(kvf, gamma_ckv, rope_cos, rope_sin, kv, cfg)


@pl.jit
def qkv_proj_rope_entry(x, wq_a, gamma_cq, wq_b, wq_b_scale, wkv, gamma_ckv, rope_cos, rope_sin, q: pl.Out,
                        kv: pl.Out, qr: pl.Out, qr_scale: pl.Out, cfg):
    qkv_proj_rope(x, wq_a, gamma_cq, wq_b, wq_b_scale, wkv, gamma_ckv, rope_cos, rope_sin, q, kv, qr, qr_scale, cfg)


# --- numpy golden: the kernel's FP32 steps on the kernel's tile shapes ----------------------------
def golden_qr(x, wq_a, gamma_cq, cfg):
    """(qn [T, q_lora] FP32, qr INT8, qr_scale [T, 1] FP32)."""
    qa = C.project(x, wq_a)
    ms = (qa * qa).sum(axis=1, keepdims=True, dtype=F32) * F32(1.0 / qa.shape[1])
    qn = (qa * C.rsqrt(ms + F32(cfg.rms_eps))) * gamma_cq.astype(F32)
    scale = golden_quant_scale(np.abs(qn).max(axis=1, keepdims=True), cfg.int8_amax_eps)
    return qn, np.rint(qn / scale).astype(np.int8), scale


def golden(x, wq_a, gamma_cq, wq_b, wq_b_scale, wkv, gamma_ckv, rope_cos, rope_sin, q, kv, qr, qr_scale, cfg):
    _, qr_g, scale = golden_qr(x, wq_a, gamma_cq, cfg)
    # the INT32 product, exact in FP64 (BLAS-fast, unlike int64): |acc| <= q_lora * 127**2 < 2**24
    acc = (qr_g.astype(np.float64) @ wq_b.astype(np.float64)).astype(F32)
    q_full = (acc * scale) * wq_b_scale
    d = cfg.head_dim
    q_out = np.stack([C.norm_rope(q_full[:, h * d:(h + 1) * d], None, rope_cos, rope_sin, cfg)
                      for h in range(cfg.heads)], axis=1)
    kvf, g = C.project(x, wkv), gamma_ckv.astype(F32)
    kv_out = np.concatenate([C.norm_rope(kvf[t:t + 1], g, rope_cos[t], rope_sin[t], cfg)
                             for t in range(x.shape[0])])
    return {"q": q_out, "kv": kv_out, "qr": qr_g, "qr_scale": scale}


@dataclass(frozen=True)
class RopeTable:
    """[T, rope_dim // 2] FP32 cos or sin of p_t * 10000^(-2i / rope_dim): real angles (so
    cos^2 + sin^2 = 1), the positions p_t drawn from one seed for both tables."""

    fn: str  # "cos" or "sin"
    tokens: int
    rope_dim: int
    seed: int

    def make(self) -> np.ndarray:
        pos = np.random.default_rng(self.seed).integers(0, 16384, (self.tokens, 1))
        freq = 10000.0 ** (-np.arange(self.rope_dim // 2) * 2.0 / self.rope_dim)
        return getattr(np, self.fn)(pos * freq).astype(F32)


def case(name, cfg: Config, tokens=None, seed=1000, **kw):
    """Bitwise (atol = rtol = 0): the golden repeats every FP32 step on the kernel's tile shapes
    (128 x 128 K-tiled BF16 projections, exact INT32 q projection, FP64-rounded rsqrt)."""
    T, D, L, HD = tokens or cfg.tokens, cfg.hidden, cfg.q_lora, cfg.heads * cfg.head_dim
    cfg = cfg.with_(tokens=T)
    inputs = {
        "x": pt.normal((T, D), pl.BF16, seed=seed),
        "wq_a": pt.normal((D, L), pl.BF16, seed=seed + 1, scale=D ** -0.5),
        "gamma_cq": pt.uniform((1, L), pl.BF16, 0.5, 1.5, seed=seed + 2),
        "wq_b": pt.randint((L, HD), pl.INT8, -127, 128, seed=seed + 3),
        "wq_b_scale": pt.uniform((1, HD), pl.FP32, 5e-4, 1.5e-3, seed=seed + 4),
        "wkv": pt.normal((D, cfg.head_dim), pl.BF16, seed=seed + 5, scale=D ** -0.5),
        "gamma_ckv": pt.uniform((1, cfg.head_dim), pl.BF16, 0.5, 1.5, seed=seed + 6),
        "rope_cos": RopeTable("cos", T, cfg.rope_dim, seed + 7),
        "rope_sin": RopeTable("sin", T, cfg.rope_dim, seed + 7),
        "q": pt.zeros((T, cfg.heads, cfg.head_dim), pl.BF16),
        "kv": pt.zeros((T, cfg.head_dim), pl.BF16),
        "qr": pt.zeros((T, L), pl.INT8),
        "qr_scale": pt.zeros((T, 1), pl.FP32),
    }
    return pt.Case(name, qkv_proj_rope_entry, inputs, golden, consts={"cfg": cfg}, **kw)


CASES = [
    case("qkv_proj_rope_small", SMALL),
    case("qkv_proj_rope_t1", SMALL, tokens=1, seed=1100),
    case("qkv_proj_rope_flash", FLASH, seed=1200),
]
