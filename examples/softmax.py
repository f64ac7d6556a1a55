"""Row softmax of a [64, 128] FP32 matrix: one SPMD task, one 16-row block per block index.

    pto run examples/softmax.py
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

ROWS, COLS, TILE = 64, 128, 16


@pl.jit
def softmax(x: pl.Tensor[[ROWS, COLS], pl.FP32], out: pl.Out[pl.Tensor[[ROWS, COLS], pl.FP32]]):
    for b in pl.spmd(ROWS // TILE, name_hint="softmax"):
        r = b * TILE
        tile = x[r : r + TILE, :]
        m = pl.row_max(tile)
        e = pl.exp(pl.row_expand_sub(tile, m))
        out[r : r + TILE, :] = pl.row_expand_div(e, pl.row_sum(e))


def golden(x, out):
    # Mirrors the kernel's steps: FP32 subtract, exp evaluated in FP64 and rounded to FP32,
    # FP32 row sum, FP32 divide. Only the summation order may differ: rtol 1e-6 (a few FP32 ulps).
    m = x.max(axis=1, keepdims=True)
    e = np.exp((x - m).astype(np.float64)).astype(np.float32)
    return {"out": e / e.sum(axis=1, keepdims=True, dtype=np.float32)}


CASES = [
    pt.Case("softmax_64x128", softmax,
            {"x": pt.normal((ROWS, COLS), pl.FP32, seed=1, scale=3.0), "out": pt.zeros((ROWS, COLS), pl.FP32)},
            golden, atol=1e-7, rtol=1e-6),
]
