"""`pl.range` with step 0."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    for i in pl.range(0, 16, 0):  # ERROR-LINE
        out[i : i + 1, :] = x[i : i + 1, :]


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
