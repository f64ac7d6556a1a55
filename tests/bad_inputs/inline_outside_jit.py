"""Calling an inline helper from plain Python, outside any @pl.jit function."""
import numpy as np

import pto.language as pl


@pl.jit.inline
def helper(t):
    return pl.exp(t)


def kernel(x, platform=None):  # plain Python, not @pl.jit
    return helper(x)  # ERROR-LINE


kernel.compile = kernel


def args():
    return (np.zeros((16, 64), np.float32),)
