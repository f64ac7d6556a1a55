"""RMSNorm y = x * rsqrt(mean(x^2) + eps) * gamma of a [32, 256] BF16 matrix, computed in FP32.

One SPMD task, one 16-row block per block index; gamma is a [1, 256] FP32 row shared by all rows.

    pto run examples/rmsnorm.py
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

ROWS, COLS, TILE = 32, 256, 16
EPS = 1e-6


@pl.jit
def rmsnorm(x: pl.Tensor[[ROWS, COLS], pl.BF16], gamma: pl.Tensor[[1, COLS], pl.FP32],
            out: pl.Out[pl.Tensor[[ROWS, COLS], pl.BF16]]):
    for b in pl.spmd(ROWS // TILE, name_hint="rmsnorm"):
        r = b * TILE
        xf = pl.cast(x[r : r + TILE, :], pl.FP32)  # BF16 -> FP32 is exact; the sum of squares needs FP32
        mean_sq = pl.mul(pl.row_sum(pl.mul(xf, xf)), 1.0 / COLS)  # 1/256 is exact: no rounding from the divide
        inv = pl.rsqrt(pl.add(mean_sq, EPS))
        y = pl.col_expand_mul(pl.row_expand_mul(xf, inv), gamma)
        out[r : r + TILE, :] = pl.cast(y, pl.BF16, mode="rint")


def golden(x, gamma, out):
    # Same FP32 steps in the same order; rsqrt is evaluated in FP64 and rounded to FP32 once, as the
    # interpreter does. Only the row sum's order may differ (a few FP32 ulps), which can flip the final
    # BF16 rounding of a value lying near a tie: allow one BF16 ulp (rtol 2**-8).
    xf = x.astype(np.float32)
    mean_sq = (xf * xf).sum(axis=1, keepdims=True, dtype=np.float32) * np.float32(1.0 / COLS)
    inv = (1.0 / np.sqrt((mean_sq + np.float32(EPS)).astype(np.float64))).astype(np.float32)
    return {"out": ((xf * inv) * gamma).astype(out.dtype)}


CASES = [
    pt.Case("rmsnorm_32x256_bf16", rmsnorm,
            {"x": pt.normal((ROWS, COLS), pl.BF16, seed=1, scale=2.0),
             "gamma": pt.uniform((1, COLS), pl.FP32, 0.5, 1.5, seed=2),
             "out": pt.zeros((ROWS, COLS), pl.BF16)},
            golden, atol=0.0, rtol=2.0**-8),
]
