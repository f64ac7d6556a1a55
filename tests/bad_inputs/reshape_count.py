"""A reshape that changes the element count: [16, 64] -> [16, 32]."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 32], pl.FP32]]):
    r = pl.reshape(x, [16, 32])  # ERROR-LINE
    out[:, :] = r


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 32), np.float32))
