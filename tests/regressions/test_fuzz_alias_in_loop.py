"""Found while minimizing a differential-fuzzer failure (`pto.fuzz`, seed 0 program 32). A silent wrong
answer of the *tracer*: the reference interpreter and the compiled program agree, on the wrong program.

In a loop, `acc = v` (rebinding a carried name to another traced value made before the loop) is lost: the
loop yields its own block argument, so `acc` keeps its value from before the loop. regions.py's loop
tracing takes the handle that the name holds after the discovery trace - which, after `acc = v`, is `v`'s
own handle object - and `_rebind`s *that* to the loop's block argument, so in the real trace `v` denotes
the carried value and `acc = v` assigns it to itself. The same with `v` a view of a parameter or a tile,
and with `v` made in an enclosing loop's body.

Right behaviour: the sequential Python meaning - after the loop `acc` is `v` (row 1 of x; in the nest,
the last outer iteration's row 2).
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, ints


@pl.jit
def alias_a_tile(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    v = pl.add(x[1:2, :], 0.0)
    for k in pl.range(2):
        acc = v
    out[:, :] = acc


@pl.jit
def alias_a_view(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    v = x[1:2, :]
    for k in pl.range(2):
        acc = v
    out[:, :] = acc


@pl.jit
def alias_in_a_nest(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
    acc = pl.add(x[0:1, :], 0.0)
    for i in pl.range(2):
        v = x[i + 1 : i + 2, :]
        for k in pl.range(2):
            acc = v
    out[:, :] = acc


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="pto bug: `acc = v` in a loop is traced as `acc = acc` (the loop rebinds v's handle)")
@pytest.mark.parametrize("kernel, row", [(alias_a_tile, 1), (alias_a_view, 1), (alias_in_a_nest, 2)])
def test_rebinding_a_carried_name_to_another_value_in_a_loop(kernel, row):
    x = ints((4, 8), seed=10)
    out = np.zeros((1, 8), np.float32)
    kernel(x, out)
    assert_bitwise(out, x[row : row + 1])
