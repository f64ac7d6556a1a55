"""A slice at a runtime offset read from a tensor; the input makes it run past the end (12 + 8 > 16)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(idx: pl.Tensor[[1, 1], pl.INT32], x: pl.Tensor[[16, 64], pl.FP32],
           out: pl.Out[pl.Tensor[[8, 64], pl.FP32]]):
    r = pl.read(idx, [0, 0])
    out[:, :] = pl.exp(x[r : r + 8, :])  # ERROR-LINE


def args():
    return (np.full((1, 1), 12, np.int32), np.zeros((16, 64), np.float32), np.zeros((8, 64), np.float32))
