"""A `pl.write` into an input (pl.Tensor) parameter."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(table: pl.Tensor[[1, 8], pl.INT32], out: pl.Out[pl.Tensor[[1, 8], pl.INT32]]):
    pl.write(table, [0, 0], 3)  # ERROR-LINE
    out[:, :] = table


def args():
    return (np.zeros((1, 8), np.int32), np.zeros((1, 8), np.int32))
