"""`pl.scatter` into an input parameter."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], idx: pl.Tensor[[4, 1], pl.INT32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    pl.scatter(x, idx, pl.full([4, 64], dtype=pl.FP32, value=1.0), dim=0)  # ERROR-LINE
    out[:, :] = x


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((4, 1), np.int32), np.zeros((16, 64), np.float32))
