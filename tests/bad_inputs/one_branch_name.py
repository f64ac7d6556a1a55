"""A name assigned in only one branch of an `if` on a traced scalar, used after the if."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    if pl.read(x, [0, 0]) > 0:
        t = pl.exp(x)
    out[:, :] = pl.add(t, x)  # ERROR-LINE


def args():
    return (np.ones((16, 64), np.float32), np.zeros((16, 64), np.float32))
