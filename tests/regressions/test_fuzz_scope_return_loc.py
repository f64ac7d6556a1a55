"""Found by the differential fuzzer (`pto.fuzz`) while its generator still reassigned, inside a `pl.scope`,
a tile defined before it and then returned it.

Returning a tensor that belongs to a closed `pl.scope` is rightly an error, but the error names the wrong
line: the caller's `kernel(...)` call (the first frame outside pto when `jit._trace` reads the returned
handles' values after the body has run), not the kernel's `return` statement. DESIGN.md: mistakes are
reported at the user's line.

Fixed in rewrite.py: `return e` is traced as `return __pto_return__(e)`, which resolves the returned
handles while the return statement is the line being traced (also in inline helpers).

Right behaviour: PlValueError "... belongs to the pl.scope ... and is used after it" at the `return` line
of the kernel, both from `kernel(...)` and from `kernel.compile(...)`.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from regression_helpers import assert_error_at


@pl.jit
def returns_a_scope_tile(x: pl.Tensor[[2, 8], pl.FP32]):
    with pl.scope():
        t = pl.add(x, 1.0)
    return t  # ERROR-LINE escape


@pl.jit.inline
def helper_returns_a_scope_tile(x):
    with pl.scope():
        t = pl.add(x, 1.0)
    return t  # ERROR-LINE helper


@pl.jit
def calls_the_helper(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    out[:, :] = helper_returns_a_scope_tile(x)


@pl.jit
def returns_a_one_branch_name(x: pl.Tensor[[2, 8], pl.FP32], n: pl.Scalar[pl.INT32]):
    if n > 0:
        t = pl.add(x, 1.0)
    return t  # ERROR-LINE one-branch


@pytest.mark.parametrize("how", ["call", "compile"])
def test_returning_a_scope_local_tile_names_the_return_line(how):
    x = np.zeros((2, 8), np.float32)
    with pytest.raises(PlValueError) as e:
        returns_a_scope_tile(x) if how == "call" else returns_a_scope_tile.compile(x)
    assert_error_at(e, PlValueError, "escape", __file__, "belongs to the pl.scope")


def test_an_inline_helper_returning_a_scope_local_tile_names_its_return_line():
    with pytest.raises(PlValueError) as e:
        calls_the_helper.compile(np.zeros((2, 8), np.float32), np.zeros((2, 8), np.float32))
    assert_error_at(e, PlValueError, "helper", __file__, "belongs to the pl.scope")


def test_returning_a_name_assigned_in_one_branch_names_the_return_line():
    with pytest.raises(PlValueError) as e:
        returns_a_one_branch_name.compile(np.zeros((2, 8), np.float32), 1)
    assert_error_at(e, PlValueError, "one-branch", __file__, "only one branch")
