"""A `pl.scatter` whose index tensor holds a row past the end (found when it runs)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(idx: pl.Tensor[[4, 64], pl.INT32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = pl.full([16, 64], dtype=pl.FP32, value=0.0)
    pl.scatter(out, idx, pl.full([4, 64], dtype=pl.FP32, value=1.0), dim=0)  # ERROR-LINE


def args():
    idx = np.tile(np.array([[0], [1], [2], [16]], np.int32), (1, 64))  # row 16 of a 16-row tensor
    return (idx, np.zeros((16, 64), np.float32))
