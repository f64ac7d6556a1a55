"""`and` of two traced conditions (Python evaluates `bool()` of the first)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], n: pl.Scalar[pl.INT32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = x
    if n > 0 and n < 8:  # ERROR-LINE
        out[:, :] = pl.exp(x)


def args():
    return (np.zeros((16, 64), np.float32), 3, np.zeros((16, 64), np.float32))
