"""`pl.row_expand_add` with a vector that is not one column."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], v: pl.Tensor[[16, 2], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = pl.row_expand_add(x, v)  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 2), np.float32), np.zeros((16, 64), np.float32))
