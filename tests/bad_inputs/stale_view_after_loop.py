"""A view whose offsets use the loop index, used after the loop."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[4, 16], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
    for c in pl.range(2):
        xc = x[:, c * 8 : c * 8 + 8]
    out[:, :] = pl.exp(xc)  # ERROR-LINE


def args():
    return np.zeros((4, 16), np.float32), np.zeros((4, 8), np.float32)
