"""A Python `while` whose condition is a traced scalar."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    t = pl.exp(x)
    while pl.read(x, [0, 0]) > 0:  # ERROR-LINE
        t = pl.exp(t)
    out[:, :] = t


def args():
    return (np.ones((16, 64), np.float32), np.zeros((16, 64), np.float32))
