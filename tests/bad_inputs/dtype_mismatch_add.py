"""Add of a BF16 and an FP32 tensor without pl.cast."""
import ml_dtypes
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.BF16], y: pl.Tensor[[16, 64], pl.FP32],
           out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    s = pl.add(x, y)  # ERROR-LINE
    out[:, :] = s


def args():
    return (np.zeros((16, 64), ml_dtypes.bfloat16), np.zeros((16, 64), np.float32),
            np.zeros((16, 64), np.float32))
