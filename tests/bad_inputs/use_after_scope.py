"""A tile created inside `with pl.scope():` used after the scope."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    with pl.scope():
        t = pl.exp(x)
    out[:, :] = t  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
