"""A negative static index (pto does not wrap indices like numpy)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[1, 64], pl.FP32]]):
    out[:, :] = x[-1:, :]  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((1, 64), np.float32))
