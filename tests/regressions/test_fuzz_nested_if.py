"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "nested_if"); fixed in rewrite.py.

An `if` on a traced scalar nested in the arm of another `if` on a traced scalar fails to trace:
"a traced value is used as a Python bool ... only a plain `if` on a traced scalar becomes a branch",
reported at the outer `if`. rewrite.py rewrites the inner `if` first (generic_visit) into two arm
functions that end in `return`; `_escapes` then finds those `return`s in the outer `if`'s body and
leaves the outer `if` as plain Python, which calls `bool()` on its traced condition.

Right behaviour: both `if`s become branches (README: "an `if` on a traced scalar becomes a branch");
the result is the sequential one for every value of `n`.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, ints


@pl.jit
def nested(x: pl.Tensor[[2, 8], pl.FP32], n: pl.Scalar[pl.INT32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
    out[:, :] = x
    if n > 2:
        if n == 5:
            out[:, :] = pl.add(x, 1.0)
        else:
            out[:, :] = pl.add(x, 2.0)


@pytest.mark.parametrize("n, add", [(5, 1.0), (3, 2.0), (1, 0.0)])
def test_if_nested_in_an_if_on_traced_scalars(n, add):
    x = ints((2, 8), seed=2)
    out = np.zeros((2, 8), np.float32)
    nested(x, n, out)
    assert_bitwise(out, x + np.float32(add))
