"""`pl.cast` with a rounding mode that does not exist."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.INT32]]):
    out[:, :] = pl.cast(x, pl.INT32, mode="nearest")  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.int32))
