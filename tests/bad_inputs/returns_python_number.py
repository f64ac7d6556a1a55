"""A kernel that returns a Python number."""
import numpy as np

import pto.language as pl


@pl.jit
def kernel(x: pl.Tensor[[16, 64], pl.FP32]):
    return 1.0  # ERROR-LINE


def args():
    return (np.zeros((16, 64), np.float32),)
