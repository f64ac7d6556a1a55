"""A tile first assigned inside a pl.range body, used after the loop."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    for i in pl.range(4):
        t = pl.exp(x)
    out[:, :] = t  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
