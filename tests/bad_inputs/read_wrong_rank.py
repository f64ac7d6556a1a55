"""`pl.read` with one offset for a 2-D tensor."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(table: pl.Tensor[[4, 8], pl.INT32], out: pl.Out[pl.Tensor[[1, 1], pl.INT32]]):
    v = pl.read(table, [0])  # ERROR-LINE
    pl.write(out, [0, 0], v)


def args():
    return (np.zeros((4, 8), np.int32), np.zeros((1, 1), np.int32))
