"""A `pl.create_tensor` whose shape is a value read from a tensor."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(sizes: pl.Tensor[[1, 1], pl.INT32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    rows = pl.read(sizes, [0, 0])
    buf = pl.create_tensor([rows, 64], pl.FP32)  # ERROR-LINE
    out[:, :] = buf


def args():
    return (np.full((1, 1), 16, np.int32), np.zeros((16, 64), np.float32))
