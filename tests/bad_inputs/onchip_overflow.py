"""One kernel holding more [256, 256] FP32 tiles at once than the 192 KiB vector buffer (UB) has room for."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[256, 256], pl.FP32], out: pl.Out[pl.Tensor[[256, 256], pl.FP32]]):
    with pl.at(name_hint="big"):
        a = pl.exp(x)  # ERROR-LINE
        b = pl.add(a, x)
        out[:, :] = pl.mul(a, b)


def args():
    return (np.zeros((256, 256), np.float32), np.zeros((256, 256), np.float32))
