"""A case file (for `pto run`) whose kernel adds a [16, 64] and a [16, 32] tensor."""
import numpy as np

import pto.language as pl
from pto import testing as pt


@pl.jit
def bad_add(x: pl.Tensor[[16, 64], pl.FP32], y: pl.Tensor[[16, 32], pl.FP32],
            out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    out[:, :] = pl.add(x, y)  # ERROR-LINE


def golden(x, y, out):
    return {"out": x}


CASES = [
    pt.Case("bad_add", bad_add,
            {"x": pt.zeros((16, 64), pl.FP32), "y": pt.zeros((16, 32), pl.FP32),
             "out": pt.zeros((16, 64), pl.FP32)},
            golden),
]
