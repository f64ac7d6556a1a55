"""Mirrors hw-native-sys/pypto#677 (request) and hw-native-sys/pypto#898 (implementation): `scatter_`
with torch semantics, including `reduce=add`.

The reference lowered scatter to scalar `tgetval`/`tsetval` loops with `bar_all` barriers around
them (32-byte RowMajor alignment and TINSERT limits); what duplicate indices mean, and how a
scatter is ordered against the tasks around it, was left to that lowering.

Right behaviour (DESIGN.md §2): duplicates are defined - without `reduce` the last index in
row-major order wins, with `reduce="add"` values are summed in index order, each addition rounded
to the dtype. A scatter into memory is a write to its whole destination view: ordered after the
writer that initialized it (WAW, and RAW for `reduce="add"`) and before every reader. An
out-of-range index is an error naming the scatter's line (`mode="check"`), or dropped
(`mode="skip"`). The same data-dependent writes expressed with `pl.read` + a dynamic-offset
assemble are ordered conservatively and give the same answers.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from regression_helpers import assert_bitwise, assert_error_at, edges, normal

N, C, T = 8, 4, 4  # index rows, columns, target rows

needs_scatter = pytest.mark.skipif(not hasattr(pl, "scatter"), reason="pl.scatter is not in pto.language yet")


@pl.jit
def scatter_add_and_last(index: pl.Tensor[[N, C], pl.INT32], src: pl.Tensor[[N, C], pl.FP32],
                         base: pl.Tensor[[T, C], pl.FP32], summed: pl.Out[pl.Tensor[[T, C], pl.FP32]],
                         last: pl.Out[pl.Tensor[[T, C], pl.FP32]]):
    acc = pl.create_tensor([T, C], pl.FP32)
    with pl.at(name_hint="init"):
        acc[:, :] = base
        last[:, :] = base
    with pl.at(name_hint="scatter_add"):
        pl.scatter(acc, index, src, dim=0, reduce="add")
    with pl.at(name_hint="scatter_last"):
        pl.scatter(last, index, src, dim=0)
    with pl.at(name_hint="read_back"):
        summed[:, :] = pl.mul(acc, 1.0)


@pl.jit
def scatter_checked(index: pl.Tensor[[2, C], pl.INT32], src: pl.Tensor[[2, C], pl.FP32],
                    out: pl.Out[pl.Tensor[[T, C], pl.FP32]]):
    out[:, :] = pl.full([T, C], pl.FP32, 0.0)
    with pl.at(name_hint="scatter"):
        pl.scatter(out, index, src, dim=0)  # ERROR-LINE bad-index


@pl.jit
def scatter_skipping(index: pl.Tensor[[2, C], pl.INT32], src: pl.Tensor[[2, C], pl.FP32],
                     out: pl.Out[pl.Tensor[[T, C], pl.FP32]]):
    out[:, :] = pl.full([T, C], pl.FP32, 0.0)
    with pl.at(name_hint="scatter"):
        pl.scatter(out, index, src, dim=0, mode="skip")


@pl.jit
def rows_by_read_and_assemble(idx: pl.Tensor[[N, 1], pl.INT32], x: pl.Tensor[[N, 16], pl.FP32],
                              summed: pl.Out[pl.Tensor[[T, 16], pl.FP32]], last: pl.Out[pl.Tensor[[T, 16], pl.FP32]]):
    acc = pl.create_tensor([T, 16], pl.FP32)
    with pl.at(name_hint="zero"):
        acc[:, :] = pl.full([T, 16], pl.FP32, 0.0)
        last[:, :] = pl.full([T, 16], pl.FP32, 0.0)
    for t in pl.range(N):
        r = pl.read(idx, [t, 0])
        with pl.at(name_hint="add_row"):
            acc[r : r + 1, :] = pl.add(acc[r : r + 1, :], x[t : t + 1, :])
        with pl.at(name_hint="put_row"):
            pl.assemble(last, x[t : t + 1, :], [r, 0])
    with pl.at(name_hint="read_back"):
        summed[:, :] = pl.mul(acc, 1.0)


def _golden_rows(index, src, base):
    summed, last = base.copy(), base.copy()
    for i in range(index.shape[0]):                    # row-major order of index
        for j in range(index.shape[1]):
            summed[index[i, j], j] = np.float32(summed[index[i, j], j] + src[i, j])
            last[index[i, j], j] = src[i, j]
    return summed, last


def _scatter_args():
    rng = np.random.default_rng(0)
    index = rng.integers(0, T, (N, C)).astype(np.int32)   # 8 rows into 4 targets: duplicates
    return index, normal((N, C), 1), normal((T, C), 2), np.zeros((T, C), np.float32), np.zeros((T, C), np.float32)


@needs_scatter
def test_scatter_is_ordered_after_its_initializer_and_before_its_reader():
    assert edges(scatter_add_and_last, *_scatter_args()) == {
        ("init", "scatter_add", "RAW", "acc", False),      # reduce="add" reads the destination
        ("init", "scatter_add", "WAW", "acc", False),
        ("init", "scatter_last", "WAW", "last", False),
        ("scatter_add", "read_back", "RAW", "acc", False),
        ("init", "read_back", "RAW", "acc", False),
    }


@needs_scatter
def test_scatter_duplicates_sum_in_index_order_and_the_last_one_wins():
    index, src, base, summed, last = _scatter_args()
    assert len(np.unique(index[:, 0])) < N
    scatter_add_and_last(index, src, base, summed, last)
    want_sum, want_last = _golden_rows(index, src, base)
    assert_bitwise(summed, want_sum)
    assert_bitwise(last, want_last)


@needs_scatter
def test_out_of_range_scatter_index_is_an_error_at_the_scatter_line():
    index = np.array([[0, 1, 2, 3], [4, 0, 0, 0]], np.int32)
    with pytest.raises(PlValueError) as info:
        scatter_checked(index, normal((2, C)), np.zeros((T, C), np.float32))
    assert_error_at(info, PlValueError, "bad-index", __file__, "index value 4", "[1, 0]")


@needs_scatter
def test_skip_mode_drops_minus_one():
    index = np.array([[0, -1, 2, 3], [3, 1, -1, 0]], np.int32)
    src, out = normal((2, C), 3), np.zeros((T, C), np.float32)
    scatter_skipping(index, src, out)
    want = np.zeros((T, C), np.float32)
    for i in range(2):
        for j in range(C):
            if index[i, j] >= 0:
                want[index[i, j], j] = src[i, j]
    assert_bitwise(out, want)


def _row_args():
    idx = np.array([[1], [3], [1], [0], [1], [3], [0], [1]], np.int32)
    return idx, normal((N, 16), 4), np.zeros((T, 16), np.float32), np.zeros((T, 16), np.float32)


def test_read_and_assemble_rows_are_ordered_conservatively():
    assert edges(rows_by_read_and_assemble, *_row_args()) == {
        ("zero", "add_row", "RAW", "acc", False), ("zero", "add_row", "WAW", "acc", False),
        ("zero", "put_row", "WAW", "last", False), ("zero", "read_back", "RAW", "acc", False),
        ("add_row", "read_back", "RAW", "acc", False),
        # rows chosen by data: any two iterations may collide
        ("add_row", "add_row", "RAW", "acc", True), ("add_row", "add_row", "WAR", "acc", True),
        ("add_row", "add_row", "WAW", "acc", True), ("put_row", "put_row", "WAW", "last", True),
    }


def test_read_and_assemble_rows_sum_in_order_and_the_last_one_wins():
    idx, x, summed, last = _row_args()
    rows_by_read_and_assemble(idx, x, summed, last)
    want_sum, want_last = np.zeros((T, 16), np.float32), np.zeros((T, 16), np.float32)
    for t in range(N):
        want_sum[idx[t, 0]] = want_sum[idx[t, 0]] + x[t]
        want_last[idx[t, 0]] = x[t]
    assert_bitwise(summed, want_sum)
    assert_bitwise(last, want_last)
