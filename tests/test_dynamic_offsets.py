"""Offsets read at run time from a tensor the same program computed, in every place an offset is
taken: pl.slice, subscripts (read and assign), pl.read (scalar and tile), pl.write, pl.assemble and
pl.scatter's destination view. Once in the orchestration (the scalars are read there and passed to
implicit kernels), once inside a `pl.at` kernel (read and used in the kernel)."""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.passes.pipeline import compile_function

ROWS, COLS = 8, 16


def _uses_every_offset_form(x, sel, out, picked):
    """r0, r1 come from `sel`; each line below takes them as an offset in a different way."""
    r0 = pl.read(sel, [0, 0])
    r1 = pl.read(sel, [0, 1])
    out[r0:r0 + 1, :] = x[r1:r1 + 1, :]                                   # subscript read and assign
    pl.assemble(out, pl.exp(pl.slice(x, [1, COLS], [r0, 0])), [r1, 0])    # pl.slice, pl.assemble
    pl.write(out, [r1, 3], pl.read(x, [r0, 5]))                           # scalar pl.read, pl.write
    picked[0:1, :] = pl.read(x, [r1, 0], [1, COLS])                       # tile pl.read
    index = pl.full([1, 4], dtype=pl.INT32, value=2)
    pl.scatter(out[r0:r0 + 1, :], index, pl.full([1, 4], dtype=pl.FP32, value=-3.0), dim=1)  # scatter into a view


@pl.jit
def in_orchestration(x: pl.Tensor[[ROWS, COLS], pl.FP32], scores: pl.Tensor[[1, ROWS], pl.FP32],
                     out: pl.Out[pl.Tensor[[ROWS, COLS], pl.FP32]], picked: pl.Out[pl.Tensor[[1, COLS], pl.FP32]]):
    sel = pl.create_tensor([1, 2], pl.INT32)
    with pl.at(name_hint="select"):
        _, idx = pl.topk(scores, 2)
        sel[:, :] = idx
        out[:, :] = pl.full([ROWS, COLS], dtype=pl.FP32, value=0.0)
    _uses_every_offset_form(x, sel, out, picked)


@pl.jit
def in_a_kernel(x: pl.Tensor[[ROWS, COLS], pl.FP32], scores: pl.Tensor[[1, ROWS], pl.FP32],
                out: pl.Out[pl.Tensor[[ROWS, COLS], pl.FP32]], picked: pl.Out[pl.Tensor[[1, COLS], pl.FP32]]):
    sel = pl.create_tensor([1, 2], pl.INT32)
    with pl.at(name_hint="select"):
        _, idx = pl.topk(scores, 2)
        sel[:, :] = idx
        out[:, :] = pl.full([ROWS, COLS], dtype=pl.FP32, value=0.0)
    with pl.at(name_hint="use"):
        _uses_every_offset_form(x, sel, out, picked)


def expected(x, scores):
    r0, r1 = np.argsort(-scores[0], kind="stable")[:2]
    out = np.zeros((ROWS, COLS), np.float32)
    out[r0] = x[r1]
    out[r1] = np.exp(x[r0].astype(np.float64)).astype(np.float32)
    out[r1, 3] = x[r0, 5]
    out[r0, 2] = -3.0
    return out, x[r1:r1 + 1]


@pytest.mark.parametrize("kernel", [in_orchestration, in_a_kernel])
@pytest.mark.parametrize("top", [(5, 2), (0, 7), (3, 4)])
def test_offsets_read_from_a_tensor_computed_earlier(kernel, top):
    x = np.random.default_rng(3).standard_normal((ROWS, COLS)).astype(np.float32)
    scores = np.zeros((1, ROWS), np.float32)
    scores[0, top[0]], scores[0, top[1]] = 2.0, 1.0
    out, picked = np.full((ROWS, COLS), 9.0, np.float32), np.zeros((1, COLS), np.float32)
    kernel(x, scores, out, picked)
    want_out, want_picked = expected(x, scores)
    assert np.array_equal(out, want_out)
    assert np.array_equal(picked, want_picked)


def test_the_orchestration_reads_the_offsets_after_the_kernel_that_wrote_them():
    """Exact graph: the two scalar reads of `sel` in the orchestration depend on the kernel that
    computed it (RAW), and the writes to `out` at run-time rows (two implicit kernels and a scalar
    write) are ordered after the zero fill and after each other (WAW), since a run-time row may be
    any row."""
    c = compile_function(in_orchestration.compile(
        np.zeros((ROWS, COLS), np.float32), np.zeros((1, ROWS), np.float32),
        np.zeros((ROWS, COLS), np.float32), np.zeros((1, COLS), np.float32)).function)
    nodes = c.facts["access"]
    sel_reads = [n.name for n in nodes if any(a.mode == "read" and {b.hint for b in a.buffers} == {"sel"}
                                                for a in n.accesses) and n.name.startswith("read@")]
    out_writers = [n.name for n in nodes if any(a.mode == "write" and "out" in {b.hint for b in a.buffers}
                                                  for a in n.accesses)]
    assert len(sel_reads) == 2 and out_writers[0] == "select" and len(out_writers) == 4
    want = {("select", r, "RAW", "sel", False) for r in sel_reads}
    want |= {(a, b, "WAW", "out", False) for i, a in enumerate(out_writers) for b in out_writers[i + 1:]}
    assert {e.fact() for e in c.facts["deps"]} == want
