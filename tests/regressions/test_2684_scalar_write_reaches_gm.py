"""Mirrors hw-native-sys/pypto#2684: GM tensor writes were lost across tile conversion.

A `tensor.write` on a GM parameter could be redirected into a UB tile that had been loaded from
that parameter, and never reach GM (the fix added 16 regression tests).

Right behaviour: a scalar write to a GM parameter is a write to GM. Inside a kernel that has also
loaded the parameter as a tile, after tile stores to it, or as the last thing the program does,
the element is in the output array afterwards, and a later task reading it is ordered after the
write. Writing an `In` parameter is not a silent local change: it is rejected at the user's line.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from regression_helpers import assert_bitwise, assert_error_at, edges, ints, scalar_node

R, D = 4, 8


@pl.jit
def write_after_loading(x: pl.Tensor[[R, D], pl.FP32], out: pl.InOut[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="mix"):
        t = pl.add(out, x)                          # `out` loaded as a tile
        pl.write(out, [0, 0], pl.read(x, [3, 7]))   # ... then written as GM
        out[1:2, :] = t[1:2, :]
        pl.write(out, [1, 2], 5.0)
    with pl.at(name_hint="after"):
        out[3:4, :] = pl.mul(out[0:1, :], 2.0)      # sees the scalar written at [0, 0]


@pl.jit
def last_write_of_the_program(v: pl.Scalar[pl.FP32], x: pl.Tensor[[R, D], pl.FP32],
                              out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="store"):
        out[:, :] = pl.neg(x)
    for i in pl.range(R):
        pl.write(out, [i, i], v)  # NODE diagonal


@pl.jit
def write_to_input(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    pl.write(x, [0, 0], 1.0)  # ERROR-LINE input
    out[:, :] = x


def test_scalar_write_after_a_tile_load_reaches_gm_and_orders_the_reader():
    x, out = ints((R, D)), ints((R, D), 1)
    assert edges(write_after_loading, x, out) == {("mix", "after", "RAW", "out", False),
                                                  ("mix", "after", "WAR", "out", False)}
    want = out.copy()
    t = want + x
    want[0, 0] = x[3, 7]
    want[1] = t[1]
    want[1, 2] = 5.0
    want[3] = want[0] * 2
    write_after_loading(x, out)
    assert_bitwise(out, want)


def test_scalar_writes_at_the_end_of_the_program_reach_the_output():
    x, out = ints((R, D), 2), np.zeros((R, D), np.float32)
    w = scalar_node("write", "diagonal", __file__)
    assert edges(last_write_of_the_program, 7.0, x, out) == {("store", w, "WAW", "out", False)}
    last_write_of_the_program(7.0, x, out)
    want = -x
    want[np.arange(R), np.arange(R)] = 7.0
    assert_bitwise(out, want)


@pytest.mark.parametrize("entry", ["call", "compile"])
def test_scalar_write_to_an_input_is_rejected_at_its_line(entry):
    x, out = ints((R, D)), np.zeros((R, D), np.float32)
    api = write_to_input if entry == "call" else write_to_input.compile
    with pytest.raises(PlValueError) as info:
        api(x, out)
    assert_error_at(info, PlValueError, "input", __file__, "pl.Out")
