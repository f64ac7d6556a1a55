"""Returning a tile created inside a `pl.scope` (it is released when the scope closes)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32]):
    with pl.scope():
        t = pl.exp(x)
    return t  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32),)
