"""An inline helper that calls itself."""
import numpy as np

import pto.language as pl


@pl.jit.inline
def forever(t):
    return forever(pl.exp(t))  # ERROR-LINE


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = forever(x)


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
