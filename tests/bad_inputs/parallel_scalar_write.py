"""`pl.parallel` iterations that all `pl.write` one element of a table."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[4, 64], pl.FP32], count: pl.Out[pl.Tensor[[1, 1], pl.INT32]]):
    for i in pl.parallel(4):  # ERROR-LINE
        pl.write(count, [0, 0], pl.cast(i, pl.INT32))


def args():
    return (np.zeros((4, 64), np.float32), np.zeros((1, 1), np.int32))
