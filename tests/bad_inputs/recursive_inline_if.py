"""An inline helper that calls itself, bounded by a Python-int `if` (the helper contains an `if`)."""
import numpy as np

import pto.language as pl


@pl.jit.inline
def twice(t, n):
    if n == 0:
        return t
    return twice(pl.exp(t), n - 1)  # ERROR-LINE


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = twice(x, 2)


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
