"""A pure cube kernel: C = A @ B in FP32, one 16x16 output tile per SPMD block (an AIC kernel)."""
import numpy as np

import pto.language as pl
from pto import testing as pt

M, K, N, TN = 16, 32, 64, 16


@pl.jit
def cube_matmul(a: pl.Tensor[[M, K], pl.FP32], b: pl.Tensor[[K, N], pl.FP32], c: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    for j in pl.spmd(N // TN, name_hint="mm_tiles"):
        c[:, j * TN : j * TN + TN] = pl.matmul(a, b[:, j * TN : j * TN + TN])


def golden(a, b, c):
    # One FP32 matmul per output tile, as the kernel does: same shapes, so the same summation.
    out = c.copy()
    for j in range(N // TN):
        out[:, j * TN:(j + 1) * TN] = a @ b[:, j * TN:(j + 1) * TN]
    return {"c": out}


CASES = [pt.Case("cube_matmul_16x32x64", cube_matmul,
                 {"a": pt.normal((M, K), pl.FP32, seed=1), "b": pt.normal((K, N), pl.FP32, seed=2),
                  "c": pt.zeros((M, N), pl.FP32)}, golden, atol=1e-5, rtol=1e-5)]


@pl.jit
def matmul_exp(a: pl.Tensor[[M, K], pl.FP32], b: pl.Tensor[[K, TN], pl.FP32], c: pl.Out[pl.Tensor[[M, TN], pl.FP32]]):
    # A mixed kernel: the product on the cube core, the exponential and the store on the vector core.
    with pl.at(name_hint="mm_exp"):
        c[:, :] = pl.exp(pl.matmul(a, b))


def golden_exp(a, b, c):
    return {"c": np.exp((a @ b).astype(np.float64)).astype(np.float32)}  # exp from FP64, rounded once


CASES.append(pt.Case("matmul_exp_16x32x16", matmul_exp,
                     {"a": pt.normal((M, K), pl.FP32, seed=3, scale=0.2), "b": pt.normal((K, TN), pl.FP32, seed=4, scale=0.2),
                      "c": pt.zeros((M, TN), pl.FP32)}, golden_exp, atol=1e-6, rtol=1e-5))
