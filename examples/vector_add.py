"""Elementwise c = a + b on [128, 256] FP32, one SPMD task over 4 column blocks of 64.

    pto run examples/vector_add.py
"""
import pto.language as pl
from pto import testing as pt

ROWS, COLS, TILE = 128, 256, 64


@pl.jit
def vector_add(a: pl.Tensor[[ROWS, COLS], pl.FP32], b: pl.Tensor[[ROWS, COLS], pl.FP32],
               c: pl.Out[pl.Tensor[[ROWS, COLS], pl.FP32]]):
    # Column blocks: each block reads a [128, 64] strip of both inputs.
    for blk in pl.spmd(COLS // TILE, name_hint="vector_add"):
        col = blk * TILE
        c[:, col : col + TILE] = pl.add(a[:, col : col + TILE], b[:, col : col + TILE])


def golden(a, b, c):
    return {"c": a + b}


CASES = [
    pt.Case("vector_add_128x256", vector_add,
            {"a": pt.normal((ROWS, COLS), pl.FP32, seed=1), "b": pt.normal((ROWS, COLS), pl.FP32, seed=2),
             "c": pt.zeros((ROWS, COLS), pl.FP32)},
            golden, atol=0.0, rtol=0.0),  # one FP32 add per element, the same in numpy: exact
]
