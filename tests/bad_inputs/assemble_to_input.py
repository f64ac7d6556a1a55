"""`pl.assemble` into an input parameter."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    pl.assemble(x, pl.exp(x[0:8, :]), [8, 0])  # ERROR-LINE
    out[:, :] = x


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
