"""`pl.parallel` iterations that write overlapping rows (row blocks of 8 every 4 rows)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    for i in pl.parallel(3):  # ERROR-LINE
        with pl.at(name_hint="blk"):
            out[i * 4 : i * 4 + 8, :] = pl.exp(x[i * 4 : i * 4 + 8, :])


def args():
    return (np.zeros((16, 64), np.float32), np.zeros((16, 64), np.float32))
