"""Python `range()` over a traced scalar (use pl.range)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], n: pl.Scalar[pl.INDEX], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    for i in range(n):  # ERROR-LINE
        out[i : i + 1, :] = x[i : i + 1, :]


def args():
    return (np.zeros((16, 64), np.float32), 4, np.zeros((16, 64), np.float32))
