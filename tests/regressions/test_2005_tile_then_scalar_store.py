"""Mirrors hw-native-sys/pypto#2005: mixed tensor + scalar stores corrupted a cache line.

`output[...] = pl.full(...)` followed by `pl.write` lowered to a TSTORE (MTE3) and a scalar store
with no ordering or coherence between them, so either could land last: silent corruption.

Right behaviour: a scalar `pl.write` is a write like any other (DESIGN.md §3). A tile store and a
scalar store to the same element are ordered in program order (a WAW edge between the tile task
and the scalar-write node, either way round), a later reader depends on both, and the element holds
whichever came last in the program - inside one kernel as across tasks.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, ints, scalar_node

R, D = 4, 8


@pl.jit
def tile_then_scalar(v: pl.Scalar[pl.FP32], x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]],
                     copy: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="fill"):
        out[:, :] = pl.full([R, D], pl.FP32, 1.0)
    pl.write(out, [1, 3], v)  # NODE scalar-after
    with pl.at(name_hint="reader"):
        copy[:, :] = pl.add(out, x)


@pl.jit
def scalar_then_tile(v: pl.Scalar[pl.FP32], x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    out[2, 5] = v  # NODE scalar-before
    with pl.at(name_hint="overwrite_row"):
        out[2:3, :] = pl.mul(x[2:3, :], 2.0)        # covers the scalar's element: the tile wins
    with pl.at(name_hint="other_rows"):
        out[0:2, :] = x[0:2, :]                     # disjoint from the scalar: no edge
        out[3:4, :] = x[3:4, :]


@pl.jit
def mixed_in_one_kernel(v: pl.Scalar[pl.FP32], x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="mixed_stores"):
        out[:, :] = pl.full([R, D], pl.FP32, 0.0)
        pl.write(out, [0, 0], v)
        out[1:2, :] = x[1:2, :]
        pl.write(out, [1, 7], v)                   # lands on the row just stored as a tile
        out[0:1, 4:8] = x[0:1, 4:8]


def test_tile_store_then_scalar_store_are_ordered_and_the_reader_waits_for_both():
    x, out, copy = ints((R, D)), np.zeros((R, D), np.float32), np.zeros((R, D), np.float32)
    w = scalar_node("write", "scalar-after", __file__)
    assert edges(tile_then_scalar, 7.0, x, out, copy) == {
        ("fill", w, "WAW", "out", False),
        ("fill", "reader", "RAW", "out", False),
        (w, "reader", "RAW", "out", False),
    }
    tile_then_scalar(7.0, x, out, copy)
    want = np.ones((R, D), np.float32)
    want[1, 3] = 7.0
    assert_bitwise(out, want)
    assert_bitwise(copy, want + x)


def test_scalar_store_then_tile_store_over_it():
    x, out = ints((R, D), 1), np.zeros((R, D), np.float32)
    w = scalar_node("write", "scalar-before", __file__)
    assert edges(scalar_then_tile, 7.0, x, out) == {(w, "overwrite_row", "WAW", "out", False)}
    scalar_then_tile(7.0, x, out)
    want = x.copy()
    want[2] = x[2] * 2
    assert_bitwise(out, want)


def test_tile_and_scalar_stores_inside_one_kernel():
    x, out = ints((R, D), 2), np.full((R, D), 9.0, np.float32)
    mixed_in_one_kernel(7.0, x, out)
    want = np.zeros((R, D), np.float32)
    want[0, 0] = 7.0
    want[1] = x[1]
    want[1, 7] = 7.0
    want[0, 4:8] = x[0, 4:8]
    assert_bitwise(out, want)
