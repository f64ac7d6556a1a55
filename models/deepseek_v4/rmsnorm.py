"""RMSNorm of the token rows: y = BF16(x * rsqrt(mean(x^2) + eps) * gamma), computed in FP32
(x and gamma BF16, as the decode layer's x_mixed and its norm weights, pypto-lib.md §2.1).

One SPMD block per token row; two passes over column chunks of `COLS` (the sum of squares, then
the scaling), so a row of any width fits in on-chip tiles.

    python -m pto.cli run models/deepseek_v4/rmsnorm.py
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.config import FLASH, SMALL

COLS = 512


@pl.jit.inline
def rms_norm(x, gamma, y, eps):
    """x, y [T, D] BF16; gamma [1, D] BF16."""
    t_rows, d = x.shape
    cols = min(COLS, d)
    for t in pl.spmd(t_rows, name_hint="rmsnorm"):
        sq = pl.full([1, 1], dtype=pl.FP32, value=0.0)
        for c in pl.range(d // cols):
            xf = pl.cast(x[t:t + 1, c * cols:(c + 1) * cols], pl.FP32)
            sq = pl.add(sq, pl.row_sum(pl.mul(xf, xf)))
        inv = pl.rsqrt(pl.add(pl.mul(sq, 1.0 / d), eps))
        for c in pl.range(d // cols):
            xf = pl.cast(x[t:t + 1, c * cols:(c + 1) * cols], pl.FP32)
            g = pl.cast(gamma[:, c * cols:(c + 1) * cols], pl.FP32)
            y[t:t + 1, c * cols:(c + 1) * cols] = pl.cast(pl.mul(pl.row_expand_mul(xf, inv), g), pl.BF16, mode="rint")
    return y


@pl.jit
def rmsnorm_entry(x, gamma, y: pl.Out, eps):
    rms_norm(x, gamma, y, eps)


def golden(eps, x, gamma, y):
    """FP32 steps in the kernel's order: per-chunk row sums added chunk by chunk, the mean by
    multiplying with 1/D (exact for a power of two), rsqrt in FP64 rounded once (as the
    interpreter), then x * inv * gamma, one BF16 rounding."""
    d = x.shape[1]
    cols = min(COLS, d)
    xf, g = x.astype(np.float32), gamma.astype(np.float32)
    sq = np.zeros((x.shape[0], 1), np.float32)
    for c in range(d // cols):
        chunk = xf[:, c * cols:(c + 1) * cols]
        sq = sq + (chunk * chunk).sum(axis=1, keepdims=True, dtype=np.float32)
    mean = (sq * np.float32(1.0 / d)) + np.float32(eps)
    inv = (1.0 / np.sqrt(mean.astype(np.float64))).astype(np.float32)
    return {"y": ((xf * inv) * g).astype(y.dtype)}


def case(name, cfg, tokens=None):
    """Within one BF16 ulp (rtol 2**-8): numpy's and the interpreter's FP32 row sums may add in a
    different order, moving the sum by an FP32 ulp or so, which can flip the final BF16 rounding of
    a value near a tie; everything else is the same steps."""
    t, d = tokens or cfg.tokens, cfg.hidden
    inputs = {"x": pt.normal((t, d), pl.BF16, seed=901, scale=2.0),
              "gamma": pt.uniform((1, d), pl.BF16, 0.5, 1.5, seed=902),
              "y": pt.zeros((t, d), pl.BF16)}
    return pt.Case(name, rmsnorm_entry, inputs, golden, atol=0.0, rtol=2.0 ** -8, consts={"eps": cfg.rms_eps})


CASES = [
    case("rmsnorm_small", SMALL),
    case("rmsnorm_t1", SMALL, tokens=1),
    case("rmsnorm_flash", FLASH),
]
