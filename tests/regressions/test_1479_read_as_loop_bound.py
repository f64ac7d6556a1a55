"""Mirrors hw-native-sys/pypto#1479: `pl.read` of an internally allocated tensor as a dynamic loop bound.

In the reference, a `pl.read` of a tensor the program allocated itself, used as a dynamic loop
bound, generated orchestration C++ that did not compile (`.data` vs `.data_as<T>()`).

Right behaviour: a count produced by a task into a local tensor can bound a loop. The scalar read
is a node of the dependency graph ordered after the producing task (RAW), the loop runs exactly
that many times - including zero - and the answer is the sequential one. The same holds when the
bound is read inside a kernel and bounds a kernel loop.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, edges, exp32, normal, scalar_node

R, D = 8, 16


@pl.jit
def orchestration_bound(route: pl.Tensor[[1, R], pl.INT32], x: pl.Tensor[[R, D], pl.FP32],
                        out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    counts = pl.create_tensor([2, R // 2], pl.INT32)
    with pl.at(name_hint="count"):
        pl.reshape(counts, [1, R])[:, :] = pl.add(route, 0)
    with pl.at(name_hint="clear"):
        out[:, :] = pl.full([R, D], pl.FP32, 0.0)
    n = pl.read(counts, [1, 2])  # NODE bound
    for i in pl.range(n):
        with pl.at(name_hint="body"):
            out[i : i + 1, :] = pl.exp(x[i : i + 1, :])


@pl.jit
def kernel_bound(route: pl.Tensor[[1, R], pl.INT32], x: pl.Tensor[[R, D], pl.FP32],
                 out: pl.Out[pl.Tensor[[1, D], pl.FP32]]):
    counts = pl.create_tensor([1, R], pl.INT32)
    with pl.at(name_hint="count"):
        counts[:, :] = pl.mul(route, 1)
    with pl.at(name_hint="sum_rows"):
        n = pl.read(counts, [0, 5])
        acc = pl.full([1, D], pl.FP32, 0.0)
        for i in pl.range(n):
            acc = pl.add(acc, x[i : i + 1, :])
        out[:, :] = acc


def _route(n: int):
    route = np.arange(R, dtype=np.int32).reshape(1, R)
    route[0, 6] = n                                     # counts[1, 2] is route[0, 6]
    route[0, 5] = n
    return route


def test_the_bound_is_read_after_the_task_that_produced_it():
    x, out = normal((R, D)), np.zeros((R, D), np.float32)
    r = scalar_node("read", "bound", __file__)
    got = edges(orchestration_bound, _route(3), x, out)
    required = {("count", r, "RAW", "counts", False), ("clear", "body", "WAW", "out", False)}
    # distinct rows per iteration; with a runtime trip count the analysis keeps a carried WAW today
    # (test_1072_disjoint_assembles.py): allowed, not required
    assert required <= got <= required | {("body", "body", "WAW", "out", True)}, got


@pytest.mark.parametrize("n", [0, 3, R])
def test_the_loop_runs_as_many_times_as_the_count_says(n):
    x, out = normal((R, D)), np.ones((R, D), np.float32)
    orchestration_bound(_route(n), x, out)
    want = np.zeros((R, D), np.float32)
    want[:n] = exp32(x[:n])
    assert_bitwise(out, want)


@pytest.mark.parametrize("n", [0, 5])
def test_a_bound_read_inside_a_kernel(n):
    x, out = normal((R, D), 1), np.ones((1, D), np.float32)
    assert edges(kernel_bound, _route(n), x, out) == {("count", "sum_rows", "RAW", "counts", False)}
    kernel_bound(_route(n), x, out)
    want = np.zeros((1, D), np.float32)
    for i in range(n):
        want = want + x[i : i + 1]
    assert_bitwise(out, want)
