"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "parallel_ws").

A `pl.parallel` body whose tile ops fall into two implicit kernels that exchange a tile is rejected:
"the iterations of this pl.parallel loop conflict: implicit_N ... touch the same part of '<n>_ws' (WAW)".
The split comes from an inline helper's region (`h_norm` below) or from reading a buffer the body has
just written; outline.py then materializes the tile into a `create_tensor` it names `<n>_ws`, inside the
loop body, and the parallel-conflict check treats that per-iteration buffer as one buffer shared by all
iterations. The user wrote independent iterations and never wrote `<n>_ws`; the error names an
internal buffer and suggests a fix ("make each iteration use its own slice") the user cannot apply.

Fixed in outline.py: the orchestration's `pl.inline_call` regions are dissolved before outlining, so a
helper's tile ops join the implicit kernel around the call (no workspace at all for `norm_blocks`); and a
tile that still crosses kernels inside a pl.parallel loop goes to a workspace created before the outermost
pl.parallel loop, one block of rows per iteration (of it and of the loops inside it), each iteration using
its own block, which the dependency analysis proves disjoint.

Right behaviour: the programs compile (each iteration's materialized tile is private to it, or is
not materialized at all) and the compiled program's result equals the reference interpreter's.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import allocs, assert_bitwise, compiled, exp32, facts_of, ints, run_compiled


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


@pl.jit
def nest_of_parallel_and_range(x: pl.Tensor[[4, 32], pl.FP32], out: pl.Out[pl.Tensor[[4, 32], pl.FP32]]):
    for j in pl.parallel(2):
        for r in pl.range(2):
            t = pl.exp(x[r * 2 : r * 2 + 2, j * 16 : j * 16 + 16])
            out[r * 2 : r * 2 + 2, j * 16 : j * 16 + 16] = t
            out[r * 2 : r * 2 + 2, j * 16 : j * 16 + 16] = pl.add(t, out[r * 2 : r * 2 + 2, j * 16 : j * 16 + 16])


def golden(kernel, x):
    if kernel is norm_blocks:
        blocks = [x[:, j * 16 : j * 16 + 16] for j in range(2)]
        return np.concatenate([exp32(b - b.max(axis=1, keepdims=True)) for b in blocks], axis=1)
    return exp32(x) + exp32(x)


@pytest.mark.parametrize("kernel", [norm_blocks, reuse_a_stored_tile, nest_of_parallel_and_range])
def test_parallel_body_split_into_implicit_kernels_compiles(kernel):
    x = ints((4, 32), seed=1)
    want = golden(kernel, x)
    out = np.zeros((4, 32), np.float32)
    kernel(x, out)  # the conftest also compiles it through the pass pipeline and compares
    assert_bitwise(out, want)
    assert_bitwise(run_compiled(kernel, x, np.zeros((4, 32), np.float32))[1], want)


def test_the_workspace_has_one_block_per_iteration():
    x = ints((4, 32), seed=1)
    c = compiled(reuse_a_stored_tile, x, np.zeros((4, 32), np.float32))
    assert allocs(c)["tmp_ws"].size == 2 * 4 * 16 * 4  # two iterations of a [4, 16] FP32 tile
    c = compiled(nest_of_parallel_and_range, x, np.zeros((4, 32), np.float32))
    assert allocs(c)["tmp_ws"].size == 2 * 2 * 2 * 16 * 4  # 2 x 2 iterations of a [2, 16] FP32 tile
    assert not [e for e in facts_of(c) if e[3] == "tmp_ws" and e[4]]  # no edge carried on it


def test_a_helper_in_a_parallel_body_makes_no_kernel_of_its_own():
    c = compiled(norm_blocks, ints((4, 32), seed=1), np.zeros((4, 32), np.float32))
    assert len(c.program.functions) == 2 and "tmp_ws" not in allocs(c)
