"""A static slice x[0:20, :] of a [16, 64] tensor."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[20, 64], pl.FP32]]):
    t = x[0:20, :]  # ERROR-LINE
    out[:, :] = t


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((20, 64), np.float32))
