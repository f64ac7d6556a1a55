"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "parallel_ws").

A `pl.parallel` body whose tile ops fall into two implicit kernels that exchange a tile is rejected:
"the iterations of this pl.parallel loop conflict: implicit_N ... touch the same part of '<n>_ws' (WAW)".
The split comes from an inline helper's region (`h_norm` below) or from reading a buffer the body has
just written; outline.py then materializes the tile into a `create_tensor` it names `<n>_ws`, inside the
loop body, and the parallel-conflict check treats that per-iteration buffer as one buffer shared by all
iterations. The user wrote independent iterations and never wrote `<n>_ws`; the error names an
internal buffer and suggests a fix ("make each iteration use its own slice") the user cannot apply.

Right behaviour: both programs compile (each iteration's materialized tile is private to it, or is
not materialized at all) and the compiled program's result equals the reference interpreter's.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from regression_helpers import assert_bitwise, exp32, ints, run_compiled


@pl.jit.inline
def h_norm(t):
    return pl.row_expand_sub(t, pl.row_max(t))


@pl.jit
def norm_blocks(x: pl.Tensor[[4, 32], pl.FP32], out: pl.Out[pl.Tensor[[4, 32], pl.FP32]]):
    for j in pl.parallel(2):
        out[:, j * 16 : j * 16 + 16] = pl.exp(h_norm(x[:, j * 16 : j * 16 + 16]))


@pl.jit
def reuse_a_stored_tile(x: pl.Tensor[[4, 32], pl.FP32], out: pl.Out[pl.Tensor[[4, 32], pl.FP32]]):
    for j in pl.parallel(2):
        t = pl.exp(x[:, j * 16 : j * 16 + 16])
        out[:, j * 16 : j * 16 + 16] = t
        out[:, j * 16 : j * 16 + 16] = pl.add(t, out[:, j * 16 : j * 16 + 16])


def golden(kernel, x):
    if kernel is norm_blocks:
        blocks = [x[:, j * 16 : j * 16 + 16] for j in range(2)]
        return np.concatenate([exp32(b - b.max(axis=1, keepdims=True)) for b in blocks], axis=1)
    return exp32(x) + exp32(x)


@pytest.mark.xfail(strict=True, raises=PlValueError,
                   reason="pto bug: a tile materialized between two implicit kernels of a pl.parallel body is "
                          "reported as a conflict between iterations on its '_ws' buffer")
@pytest.mark.parametrize("kernel", [norm_blocks, reuse_a_stored_tile])
def test_parallel_body_split_into_implicit_kernels_compiles(kernel):
    x = ints((4, 32), seed=1)
    want = golden(kernel, x)
    out = np.zeros((4, 32), np.float32)
    kernel(x, out)  # the conftest also compiles it through the pass pipeline: that raises today
    assert_bitwise(out, want)
    assert_bitwise(run_compiled(kernel, x, np.zeros((4, 32), np.float32))[1], want)
