"""A Python `for` over a traced tensor."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[4, 64], pl.FP32], out: pl.Out[pl.Tensor[[4, 64], pl.FP32]]):
    for row in x:  # ERROR-LINE
        out[0:1, :] = row


def args():
    return (np.zeros((4, 64), np.float32), np.zeros((4, 64), np.float32))
