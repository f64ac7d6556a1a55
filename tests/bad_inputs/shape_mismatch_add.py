"""Elementwise add of a [16, 64] and a [16, 32] tensor."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], y: pl.Tensor[[16, 32], pl.FP32],
           out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = pl.add(x, y)  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 32), np.float32), np.zeros((16, 64), np.float32))
