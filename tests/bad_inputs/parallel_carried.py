"""A pl.parallel loop with a loop-carried variable (reported at the loop statement)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    acc = pl.full([16, 64], pl.FP32, 0.0)
    for i in pl.parallel(4):  # ERROR-LINE
        acc = pl.add(acc, x)
    out[:, :] = acc


def args():
    return (np.ones((16, 64), np.float32), np.zeros((16, 64), np.float32))
