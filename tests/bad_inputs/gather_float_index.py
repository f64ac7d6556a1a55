"""`pl.gather` with an FP32 index tensor."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], idx: pl.Tensor[[4, 64], pl.FP32], out: pl.Out[pl.Tensor[[4, 64], pl.FP32]]):
    out[:, :] = pl.gather(x, idx, dim=0)  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((4, 64), np.float32), np.zeros((4, 64), np.float32))
