"""W8A8 matmul with dequant: out = (xq @ wq) * x_scale * w_scale, INT8 inputs, BF16 output.

xq [16, 128] INT8 activations with a per-row scale [16, 1]; wq [128, 64] INT8 weights with a
per-column scale [1, 64]. The INT8 x INT8 product accumulates exactly in INT32, is converted to FP32
and scaled there. One SPMD task over 2 column blocks of 32.

    pto run examples/int8_matmul_dequant.py
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

M, K, N, TN = 16, 128, 64, 32


@pl.jit
def int8_matmul_dequant(xq: pl.Tensor[[M, K], pl.INT8], wq: pl.Tensor[[K, N], pl.INT8],
                        x_scale: pl.Tensor[[M, 1], pl.FP32], w_scale: pl.Tensor[[1, N], pl.FP32],
                        out: pl.Out[pl.Tensor[[M, N], pl.BF16]]):
    for b in pl.spmd(N // TN, name_hint="int8_matmul_dequant"):
        col = b * TN
        acc = pl.matmul(xq, wq[:, col : col + TN])  # INT32: |acc| <= K * 128 * 128 = 2**21 < 2**24
        # ... so the INT32 -> FP32 conversion is exact and only the two scale multiplies round.
        y = pl.row_expand_mul(pl.cast(acc, pl.FP32), x_scale)
        y = pl.col_expand_mul(y, w_scale[:, col : col + TN])
        out[:, col : col + TN] = pl.cast(y, pl.BF16, mode="rint")


def golden(xq, wq, x_scale, w_scale, out):
    acc = xq.astype(np.int64) @ wq.astype(np.int64)
    y = (acc.astype(np.float32) * x_scale) * w_scale
    return {"out": y.astype(out.dtype)}


CASES = [
    pt.Case("int8_matmul_dequant_16x128x64", int8_matmul_dequant,
            {"xq": pt.randint((M, K), pl.INT8, -127, 128, seed=1),
             "wq": pt.randint((K, N), pl.INT8, -127, 128, seed=2),
             "x_scale": pt.uniform((M, 1), pl.FP32, 0.005, 0.02, seed=3),
             "w_scale": pt.uniform((1, N), pl.FP32, 0.001, 0.01, seed=4),
             "out": pt.zeros((M, N), pl.BF16)},
            # The integer product is exact, and every float step is one correctly rounded FP32 multiply
            # (then one BF16 rounding) in the same order as numpy: bit-exact.
            golden, atol=0.0, rtol=0.0),
]
