"""Mirrors hw-native-sys/simpler#1902: disjoint views of one backing buffer were not separated.

The reference L3 `infer_deps` keyed only on buffer identity, so the rank-0 and rank-1 windows of
one communication buffer got false rank0 -> rank1 edges, which deadlocked (fixed by porting the L2
overlap cascade).

Right behaviour: edges follow the *regions* touched. Tasks on disjoint windows of one buffer have no
edge between them; a task touching both windows is ordered after both writers; the answer is the
sequential one.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, ints

R, D = 8, 16


@pl.jit
def two_ranks(x: pl.Tensor[[2, R, D], pl.FP32], out: pl.Out[pl.Tensor[[2, R, D], pl.FP32]],
              both: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    win = pl.create_tensor([2, R, D], pl.FP32)
    rank0 = win[0:1, :, :]
    rank1 = win[1:2, :, :]
    with pl.at(name_hint="rank0_put"):
        rank0[:, :, :] = pl.mul(x[0:1, :, :], 2.0)
    with pl.at(name_hint="rank1_put"):
        rank1[:, :, :] = pl.mul(x[1:2, :, :], 3.0)
    with pl.at(name_hint="rank1_get"):
        out[1:2, :, :] = pl.add(rank1, 1.0)
    with pl.at(name_hint="rank0_get"):
        out[0:1, :, :] = pl.add(rank0, 1.0)
    with pl.at(name_hint="reduce"):
        both[:, :] = pl.add(pl.reshape(rank0, [R, D]), pl.reshape(rank1, [R, D]))


@pl.jit
def column_windows(x: pl.Tensor[[R, 2 * D], pl.FP32], out: pl.Out[pl.Tensor[[R, 2 * D], pl.FP32]]):
    buf = pl.create_tensor([R, 2 * D], pl.FP32)
    with pl.at(name_hint="left_put"):
        buf[:, 0:D] = pl.mul(x[:, D : 2 * D], 2.0)
    with pl.at(name_hint="right_put"):
        buf[:, D : 2 * D] = pl.mul(x[:, 0:D], 3.0)
    with pl.at(name_hint="left_get"):
        out[:, 0:D] = buf[:, 0:D]
    with pl.at(name_hint="right_get"):
        out[:, D : 2 * D] = buf[:, D : 2 * D]


def test_disjoint_windows_have_no_cross_edges():
    x, out, both = ints((2, R, D)), np.zeros((2, R, D), np.float32), np.zeros((R, D), np.float32)
    assert edges(two_ranks, x, out, both) == {
        ("rank0_put", "rank0_get", "RAW", "win", False),
        ("rank1_put", "rank1_get", "RAW", "win", False),
        ("rank0_put", "reduce", "RAW", "win", False),   # the reduction reads both windows
        ("rank1_put", "reduce", "RAW", "win", False),
    }


def test_disjoint_windows_give_the_sequential_answer():
    x, out, both = ints((2, R, D)), np.zeros((2, R, D), np.float32), np.zeros((R, D), np.float32)
    two_ranks(x, out, both)
    assert_bitwise(out, np.stack([x[0] * 2 + 1, x[1] * 3 + 1]).astype(np.float32))
    assert_bitwise(both, (x[0] * 2 + x[1] * 3).astype(np.float32))


def test_disjoint_column_windows_of_one_buffer():
    x, out = ints((R, 2 * D), 1), np.zeros((R, 2 * D), np.float32)
    assert edges(column_windows, x, out) == {
        ("left_put", "left_get", "RAW", "buf", False),
        ("right_put", "right_get", "RAW", "buf", False),
    }
    column_windows(x, out)
    assert_bitwise(out, np.concatenate([x[:, D:] * 2, x[:, :D] * 3], axis=1).astype(np.float32))
