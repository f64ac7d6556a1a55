"""A slice whose width depends on a runtime value (`x[0:n]`)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], n: pl.Scalar[pl.INDEX], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[0:n, :] = pl.exp(x[0:n, :])  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), 8, np.zeros((16, 64), np.float32))
