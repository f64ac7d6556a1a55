"""Assigning an [8, 64] tile to a [16, 64] slice."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    t = pl.exp(x[0:8, :])
    out[0:16, :] = t  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
