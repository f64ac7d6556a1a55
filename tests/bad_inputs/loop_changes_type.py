"""A loop-carried tile whose shape changes in the loop."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    acc = pl.exp(x)
    for i in pl.range(2):  # ERROR-LINE
        acc = pl.row_sum(acc)
    out[:, 0:1] = acc


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
