"""An Out parameter the kernel never writes (a lint warning, not an error)."""
import numpy as np

import pto.language as pl


@pl.jit  # ERROR-LINE (the lint names the function)
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]],
           unused: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = pl.exp(x)


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
