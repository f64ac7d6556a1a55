"""As one_branch_name.py, but the one-branch name is used through a unary op: `pl.exp(t)`."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    if pl.read(x, [0, 0]) > 0:
        t = pl.exp(x)
    out[:, :] = pl.exp(t)  # ERROR-LINE


def args():
    return (np.ones((16, 64), np.float32), np.zeros((16, 64), np.float32))
