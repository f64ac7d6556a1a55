"""Matmul whose inner dimensions differ: [16, 32] @ [64, 16]."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(a: pl.Tensor[[16, 32], pl.FP32], b: pl.Tensor[[64, 16], pl.FP32],
           out: pl.Out[pl.Tensor[[16, 16], pl.FP32]]):
    c = pl.matmul(a, b)  # ERROR-LINE
    out[:, :] = c


def args():
    return (np.zeros((16, 32), np.float32), np.zeros((64, 16), np.float32), np.zeros((16, 16), np.float32))
