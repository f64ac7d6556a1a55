"""A Python int bound before a pl.range loop and made traced inside it.

The error is reported at the loop statement (the loop body is traced once, so the loop is where the
int's value was frozen)."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    acc = 0
    for i in pl.range(16):  # ERROR-LINE
        acc = acc + pl.read(x, [i, 0])
    pl.write(out, [0, 0], acc)


def args():
    return (np.ones((16, 64), np.float32), np.zeros((16, 64), np.float32))
