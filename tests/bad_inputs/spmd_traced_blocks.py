"""`pl.spmd` with a runtime block count."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], n: pl.Scalar[pl.INT32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    for b in pl.spmd(n):  # ERROR-LINE
        out[b : b + 1, :] = x[b : b + 1, :]


def args():
    return (np.zeros((16, 64), np.float32), 4, np.zeros((16, 64), np.float32))
