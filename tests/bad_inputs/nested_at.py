"""A `pl.at` inside another `pl.at` (kernels do not nest)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    with pl.at(name_hint="outer"):
        with pl.at(name_hint="inner"):  # ERROR-LINE
            out[:, :] = pl.exp(x)


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
