"""A `pl.full` whose shape holds a traced scalar (tile shapes are compile-time ints)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(n: pl.Scalar[pl.INT32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    t = pl.full([n, 64], dtype=pl.FP32, value=1.0)  # ERROR-LINE
    out[:, :] = t


def args():
    return (4, np.zeros((16, 64), np.float32))
