"""pl.gather, pl.scatter and pl.topk: semantics against plain-Python references (any rank, any dim,
memory and tile operands), duplicate indices, out-of-range modes, type errors, IR round trip.

Every kernel here also runs through the pass pipeline (tests/conftest.py), bitwise compared."""
from __future__ import annotations

import inspect

import ml_dtypes
import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlTypeError, PlValueError
from pto.ir.parser import parse_function
from pto.ir.printer import print_function

RNG = np.random.default_rng(7)


@pl.jit
def gather_k(src, index, out: pl.Out, dim, mode="check"):
    with pl.at(name_hint="gather"):
        pl.assemble(out, pl.gather(src, index, dim=dim, mode=mode), [0] * len(out.shape))


@pl.jit
def scatter_k(dst: pl.InOut, index, src, dim, reduce=None, mode="check"):
    with pl.at(name_hint="scatter"):
        pl.scatter(dst, index, src, dim=dim, reduce=reduce, mode=mode)


def scatter_ref(dst, index, src, dim, reduce=None):
    """One visit per index position in row-major order; out-of-range positions skipped; each
    addition computed in FP32 (int64 for integers) and rounded to dst's dtype."""
    out = dst.copy()
    wide = np.int64 if np.issubdtype(dst.dtype, np.integer) else np.float32
    for p in np.ndindex(index.shape):
        i = int(index[p])
        if not 0 <= i < dst.shape[dim]:
            continue
        q = p[:dim] + (i,) + p[dim + 1:]
        out[q] = (out[q].astype(wide) + src[p].astype(wide)).astype(dst.dtype) if reduce else src[p]
    return out


CASES = [((10,), (6,), 0), ((5, 7), (9, 7), 0), ((5, 7), (5, 12), 1), ((4, 5, 6), (3, 9, 6), 1),
         ((4, 5, 6), (2, 5, 11), 2), ((5, 7), (3, 4), 0)]  # the last index covers a corner of the data


@pytest.mark.parametrize("shape, ishape, dim", CASES)
def test_gather_is_take_along_axis(shape, ishape, dim):
    src = RNG.standard_normal(shape).astype(np.float32)
    index = RNG.integers(0, shape[dim], ishape).astype(np.int32)
    out = np.zeros(ishape, np.float32)
    gather_k(src, index, out, dim=dim)
    corner = src[tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(ishape))]
    assert np.array_equal(out, np.take_along_axis(corner, index.astype(np.int64), axis=dim))


@pytest.mark.parametrize("shape, ishape, dim", CASES)
def test_scatter_matches_the_row_major_reference(shape, ishape, dim):
    dst = RNG.standard_normal(shape).astype(np.float32)
    index = RNG.integers(0, shape[dim], ishape).astype(np.int32)  # many duplicates
    src = RNG.standard_normal(ishape).astype(np.float32)
    for reduce in (None, "add"):
        got = dst.copy()
        scatter_k(got, index, src, dim=dim, reduce=reduce)
        assert np.array_equal(got, scatter_ref(dst, index, src, dim, reduce)), reduce


def test_duplicate_targets_last_write_wins():
    dst = np.zeros((4, 1), np.float32)
    scatter_k(dst, np.array([[1], [2], [1], [1]], np.int32), np.array([[10.], [20.], [30.], [40.]], np.float32), dim=0)
    assert dst[:, 0].tolist() == [0.0, 40.0, 20.0, 0.0]


@pytest.mark.parametrize("values, want", [([1e8, 1.0, -1e8], 0.0), ([1e8, -1e8, 1.0], 1.0), ([1.0, 1e8, -1e8], 0.0)])
def test_scatter_add_sums_in_index_order(values, want):
    """FP32 addition is not associative: the order of the three additions decides the result."""
    dst = np.zeros((1, 1), np.float32)
    scatter_k(dst, np.zeros((3, 1), np.int32), np.array(values, np.float32).reshape(3, 1), dim=0, reduce="add")
    assert dst[0, 0] == want


def test_scatter_add_rounds_after_every_addition():
    """BF16 256 + 1 rounds back to 256 (ties to even), twice; summing the ones first would give 258."""
    dst = np.zeros((1, 1), ml_dtypes.bfloat16)
    src = np.array([[256.0], [1.0], [1.0]], ml_dtypes.bfloat16)
    scatter_k(dst, np.zeros((3, 1), np.int32), src, dim=0, reduce="add")
    assert float(dst[0, 0]) == 256.0


def test_scatter_add_of_integers_counts():
    dst = np.zeros((1, 5), np.int32)
    idx = np.array([[4, 0, 4, 4, 2, 0]], np.int32)
    scatter_k(dst, idx, np.ones((1, 6), np.int32), dim=-1, reduce="add")  # dim counts from the end too
    assert dst.tolist() == [[2, 0, 1, 0, 3]]


@pl.jit
def scatter_into_rows(out: pl.InOut[pl.Tensor[[8, 4], pl.FP32]], index: pl.Tensor[[3, 4], pl.INT32],
                      src: pl.Tensor[[3, 4], pl.FP32]):
    with pl.at(name_hint="scatter_view"):
        pl.scatter(out[2:6, :], index, src)


def test_scatter_into_a_view_of_memory_reaches_only_the_view():
    out = np.full((8, 4), -1.0, np.float32)
    index = np.array([[0, 3, 1, 2], [3, 3, 0, 0], [1, 2, 3, 0]], np.int32)
    src = np.arange(12, dtype=np.float32).reshape(3, 4)
    scatter_into_rows(out, index, src)
    want = np.full((8, 4), -1.0, np.float32)
    want[2:6] = scatter_ref(want[2:6], index, src, 0)
    assert np.array_equal(out, want)


@pl.jit
def scatter_into_a_tile(x: pl.Tensor[[2, 3, 4], pl.FP32], index: pl.Tensor[[2, 3, 6], pl.INT32],
                        src: pl.Tensor[[2, 3, 6], pl.FP32], before: pl.Out[pl.Tensor[[2, 3, 4], pl.FP32]],
                        after: pl.Out[pl.Tensor[[2, 3, 4], pl.FP32]]):
    with pl.at(name_hint="tile"):
        t = pl.exp(x)
        kept = pl.add(t, 0.0)  # a value of the tile before the scatter
        pl.scatter(t, index, src, dim=2, reduce="add")
        pl.assemble(before, kept, [0, 0, 0])
        pl.assemble(after, t, [0, 0, 0])


def test_scatter_into_a_rank3_tile_is_a_new_value():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    index = RNG.integers(0, 4, (2, 3, 6)).astype(np.int32)
    src = RNG.standard_normal((2, 3, 6)).astype(np.float32)
    before, after = np.zeros_like(x), np.zeros_like(x)
    scatter_into_a_tile(x, index, src, before, after)
    t = np.exp(x.astype(np.float64)).astype(np.float32)
    assert np.array_equal(before, t)
    assert np.array_equal(after, scatter_ref(t, index, src, 2, "add"))


def _line_of(fn, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_out_of_range_scatter_index_is_an_error_at_the_line():
    dst = np.zeros((8, 2), np.float32)
    index = np.array([[1, 2], [9, 0]], np.int32)
    with pytest.raises(PlValueError, match=r"index value 9 at index position \[1, 0\] is out of range \[0, 8\)") as e:
        scatter_k(dst, index, np.ones((2, 2), np.float32), dim=0)
    assert e.value.loc.line == _line_of(scatter_k.fn, "pl.scatter(")


def test_out_of_range_gather_index_is_an_error():
    with pytest.raises(PlValueError, match=r"index value -1 .* out of range \[0, 5\) along dim 1"):
        gather_k(np.zeros((2, 5), np.float32), np.array([[0, -1]], np.int32), np.zeros((1, 2), np.float32), dim=1)


def test_skip_mode_drops_out_of_range_entries():
    """The -1 = no entry convention of slot mappings: skipped writes, zero reads."""
    dst = np.full((4, 2), 5.0, np.float32)
    index = np.array([[-1, 3], [2, 4], [0, -1]], np.int32)
    src = np.array([[1, 2], [3, 4], [5, 6]], np.float32)
    scatter_k(dst, index, src, dim=0, mode="skip")
    assert dst.tolist() == [[5, 5], [5, 5], [3, 5], [5, 2]]
    out = np.full((3, 2), 9.0, np.float32)
    gather_k(np.arange(8, dtype=np.float32).reshape(4, 2), index, out, dim=0, mode="skip")
    assert out.tolist() == [[0, 7], [4, 0], [0, 0]]


@pl.jit
def topk_k(x, values: pl.Out, indices: pl.Out, k):
    with pl.at(name_hint="topk"):
        v, i = pl.topk(x, k)
        values[:, :] = v
        indices[:, :] = i


@pytest.mark.parametrize("row, k, want", [
    ([1.0, 3.0, 3.0, 2.0, 3.0], 3, [1, 2, 4]),        # ties: the lower index first
    ([0.5, np.nan, 2.0, np.nan], 3, [1, 3, 2]),        # NaN ranks above every number
    ([-1.0, -0.5, -2.0], 3, [1, 0, 2]),
    ([7.0, 7.0, 7.0, 7.0], 2, [0, 1]),
])
def test_topk_descending_ties_to_the_lower_index(row, k, want):
    x = np.array([row, row[::-1]], np.float32)
    values, indices = np.zeros((2, k), np.float32), np.zeros((2, k), np.int32)
    topk_k(x, values, indices, k=k)
    assert indices[0].tolist() == want
    assert np.array_equal(values, np.take_along_axis(x, indices.astype(np.int64), axis=1), equal_nan=True)
    rev = [len(row) - 1 - i for i in want]
    assert [x[1, i] for i in indices[1]] == pytest.approx([x[1, i] for i in rev], nan_ok=True)
    assert all(indices[1][j] < indices[1][j + 1] for j in range(k - 1) if x[1, indices[1][j]] == x[1, indices[1][j + 1]])


def test_topk_of_integers_and_bf16():
    x = np.array([[3, -2, 9, 9, 0]], np.int32)
    v, i = np.zeros((1, 5), np.int32), np.zeros((1, 5), np.int32)
    topk_k(x, v, i, k=5)
    assert i.tolist() == [[2, 3, 0, 4, 1]] and v.tolist() == [[9, 9, 3, 0, -2]]
    xb = np.array([[1.0, 1.0078125, 1.015625]], ml_dtypes.bfloat16)  # neighbouring BF16 values
    vb, ib = np.zeros((1, 2), ml_dtypes.bfloat16), np.zeros((1, 2), np.int32)
    topk_k(xb, vb, ib, k=2)
    assert ib.tolist() == [[2, 1]] and vb.dtype == ml_dtypes.bfloat16


@pytest.mark.parametrize("call, message", [
    (lambda: gather_k(np.zeros((4, 4), np.float32), np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32), dim=0),
     "index must be an integer tensor"),
    (lambda: gather_k(np.zeros((4, 4), np.float32), np.zeros((2, 5), np.int32), np.zeros((2, 5), np.float32), dim=0),
     r"larger than the data \[4, 4\] in dim 1"),
    (lambda: gather_k(np.zeros((4, 4), np.float32), np.zeros((2, 4, 1), np.int32), np.zeros((2, 4, 1), np.float32),
                      dim=0), "differ in rank"),
    (lambda: scatter_k(np.zeros((4, 4), np.float32), np.zeros((2, 4), np.int32), np.zeros((2, 3), np.float32), dim=0),
     "must have the same shape"),
    (lambda: scatter_k(np.zeros((4, 4), np.float32), np.zeros((2, 4), np.int32), np.zeros((2, 4), np.float16), dim=0),
     "cast the source first"),
    (lambda: scatter_k(np.zeros((4, 4), np.float32), np.zeros((2, 4), np.int32), np.zeros((2, 4), np.float32), dim=0,
                       reduce="mul"), "reduce 'mul' is not one of"),
    (lambda: scatter_k(np.zeros((4, 4), np.float32), np.zeros((2, 4), np.int32), np.zeros((2, 4), np.float32), dim=0,
                       mode="clip"), "mode 'clip'"),
    (lambda: scatter_k(np.zeros((4, 4), np.float32), np.zeros((2, 4), np.int32), np.zeros((2, 4), np.float32), dim=2),
     "dim 2 is out of range"),
    (lambda: topk_k(np.zeros((2, 4), np.float32), np.zeros((2, 5), np.float32), np.zeros((2, 5), np.int32), k=5),
     r"k=5 must be in \[1, 4\]"),
])
def test_shape_and_dtype_rules(call, message):
    with pytest.raises(PlTypeError, match=message):
        call()


def test_scatter_into_an_input_is_rejected():
    @pl.jit
    def k(dst: pl.Tensor[[4, 4], pl.FP32], index: pl.Tensor[[1, 4], pl.INT32], src: pl.Tensor[[1, 4], pl.FP32]):
        with pl.at(name_hint="bad"):
            pl.scatter(dst, index, src)

    with pytest.raises(PlValueError, match="write to the input parameter 'dst'"):
        k.compile(np.zeros((4, 4), np.float32), np.zeros((1, 4), np.int32), np.zeros((1, 4), np.float32))


def test_ir_text_round_trip_of_the_indexed_ops():
    c = scatter_into_a_tile.compile(*(np.zeros(s, d) for s, d in [((2, 3, 4), np.float32), ((2, 3, 6), np.int32),
                                                                    ((2, 3, 6), np.float32), ((2, 3, 4), np.float32),
                                                                    ((2, 3, 4), np.float32)]))
    text = print_function(c.function)
    assert 'pl.scatter(dst=%' in text and 'dim=2, reduce="add", mode="check")' in text
    assert print_function(parse_function(text)) == text
    g = topk_k.compile(np.zeros((2, 4), np.float32), np.zeros((2, 2), np.float32), np.zeros((2, 2), np.int32), k=2)
    text = print_function(g.function)
    assert "= pl.topk(src=%x, k=2) : fp32[2, 2], int32[2, 2]" in text
    assert print_function(parse_function(text)) == text
