"""`pl.matmul_acc` with an accumulator of the wrong shape."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(a: pl.Tensor[[16, 32], pl.FP32], b: pl.Tensor[[32, 16], pl.FP32], out: pl.Out[pl.Tensor[[16, 16], pl.FP32]]):
    acc = pl.full([16, 32], dtype=pl.FP32, value=0.0)
    out[:, :] = pl.matmul_acc(acc, a, b)  # ERROR-LINE


def args():
    return (np.zeros((16, 32), np.float32), np.zeros((32, 16), np.float32), np.zeros((16, 16), np.float32))
