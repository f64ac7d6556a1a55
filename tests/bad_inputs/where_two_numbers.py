"""pl.where with two Python numbers: no operand gives the result a dtype."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
    out[:, :] = pl.where(pl.gt(x, 0.0), 1.0, 0.0)  # ERROR-LINE


def args():
    return np.zeros((4, 8), np.float32), np.zeros((4, 8), np.float32)
