"""Tiled matmul C[64, 64] = A[64, 256] @ B[256, 64], BF16 inputs, FP32 accumulation.

One SPMD task over the 2 x 2 grid of 32 x 32 output tiles; each block walks K in tiles of 64,
carrying its FP32 accumulator through the loop.

    pto run examples/matmul.py
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

M, N, K = 64, 64, 256
TM, TN, TK = 32, 32, 64


@pl.jit
def matmul(a: pl.Tensor[[M, K], pl.BF16], b: pl.Tensor[[K, N], pl.BF16],
           c: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    for blk in pl.spmd((M // TM) * (N // TN), name_hint="matmul"):
        r = (blk // (N // TN)) * TM
        col = (blk % (N // TN)) * TN
        # K tile 0 starts the accumulator, so the loop needs no zero fill.
        acc = pl.matmul(a[r : r + TM, 0:TK], b[0:TK, col : col + TN], out_dtype=pl.FP32)
        for k in pl.range(1, K // TK):
            kk = k * TK
            acc = pl.matmul_acc(acc, a[r : r + TM, kk : kk + TK], b[kk : kk + TK, col : col + TN])
        c[r : r + TM, col : col + TN] = acc


def golden(a, b, c):
    # BF16 values are exact in FP32, so each K tile is a float32 matmul, and the K tiles are summed in
    # FP32 in the kernel's order. The order inside one tile product is the matmul unit's own (numpy's
    # BLAS even changes it with the operand shapes): atol 1e-5 is ~5 FP32 ulps of a typical |c| ~ 16
    # (a sum of 256 unit-normal products), rtol 1e-5 the same for the larger entries.
    af, bf = a.astype(np.float32), b.astype(np.float32)
    out = np.empty((M, N), np.float32)
    for r in range(0, M, TM):
        for col in range(0, N, TN):
            acc = af[r : r + TM, 0:TK] @ bf[0:TK, col : col + TN]
            for kk in range(TK, K, TK):
                acc = acc + af[r : r + TM, kk : kk + TK] @ bf[kk : kk + TK, col : col + TN]
            out[r : r + TM, col : col + TN] = acc
    return {"c": out}


CASES = [
    pt.Case("matmul_64x64x256_bf16", matmul,
            {"a": pt.normal((M, K), pl.BF16, seed=1), "b": pt.normal((K, N), pl.BF16, seed=2),
             "c": pt.zeros((M, N), pl.FP32)},
            golden, atol=1e-5, rtol=1e-5),
]
