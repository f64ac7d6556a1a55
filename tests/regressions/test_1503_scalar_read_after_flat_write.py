"""Mirrors hw-native-sys/pypto#1503: a stale scalar read despite the TensorMap edge (fan-in).

Several producers wrote a tensor through a flat view; the dependency edge existed, yet a scalar GM
load of the tensor (through its original shape) still read stale data.

Right behaviour: a scalar `pl.read` - in the orchestration or inside a kernel - reads after every
task that wrote any view of the element: the read node has a RAW edge from the (fan-in) producer,
the value read is the one written, and the buffer's bytes are not handed to another buffer before
the read has happened (the read is a user of the buffer in the memory plan).
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto.passes.memplan import check_plan
from regression_helpers import allocs, assert_bitwise, compiled, facts_of, ints, reuse_facts, scalar_node, \
    unordered_reuses

E = 4  # producers (SPMD blocks), each writing 2 counts


@pl.jit
def fan_in_then_orchestration_read(route: pl.Tensor[[1, 2 * E], pl.INT32], x: pl.Tensor[[1, 16], pl.FP32],
                                   out: pl.Out[pl.Tensor[[1, 16], pl.FP32]]):
    counts = pl.create_tensor([2, E], pl.INT32)
    flat = pl.reshape(counts, [1, 2 * E])
    for b in pl.spmd(E, name_hint="count"):
        flat[:, b * 2 : b * 2 + 2] = pl.mul(route[:, b * 2 : b * 2 + 2], 3)
    n = pl.read(counts, [1, 2])  # NODE read-count
    with pl.at(name_hint="scale"):
        out[:, :] = pl.mul(x, pl.cast(n, pl.FP32))


@pl.jit
def fan_in_then_kernel_read(route: pl.Tensor[[1, 2 * E], pl.INT32], x: pl.Tensor[[1, 16], pl.FP32],
                            out: pl.Out[pl.Tensor[[1, 16], pl.FP32]]):
    counts = pl.create_tensor([2, E], pl.INT32)
    flat = pl.reshape(counts, [1, 2 * E])
    for b in pl.spmd(E, name_hint="count"):
        flat[:, b * 2 : b * 2 + 2] = pl.add(route[:, b * 2 : b * 2 + 2], 1)
    with pl.at(name_hint="scale_in_kernel"):
        n = pl.read(counts, [0, 3])                 # a scalar GM load inside the kernel
        out[:, :] = pl.mul(x, pl.cast(n, pl.FP32))


@pl.jit
def read_then_reuse(route: pl.Tensor[[16, 64], pl.INT32], y: pl.Tensor[[16, 64], pl.FP32],
                    out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    cnt = pl.create_tensor([16, 64], pl.INT32)
    with pl.at(name_hint="count"):
        cnt[:, :] = pl.add(route, 1)
    n = pl.read(cnt, [3, 5])  # NODE read-then-reuse
    big = pl.create_tensor([16, 64], pl.FP32)       # cnt is dead after the read: big may take its bytes
    with pl.at(name_hint="make_big"):
        big[:, :] = pl.mul(y, 2.0)                   # ... and nothing but the plan orders it after the read
    with pl.at(name_hint="use_big"):
        out[:, :] = pl.add(big, pl.cast(n, pl.FP32))


def _route():
    return np.arange(2 * E, dtype=np.int32).reshape(1, 2 * E) + 1


def test_orchestration_read_after_fan_in_through_a_flat_view():
    route, x, out = _route(), ints((1, 16)), np.zeros((1, 16), np.float32)
    r = scalar_node("read", "read-count", __file__)
    assert facts_of(compiled(fan_in_then_orchestration_read, route, x, out)) == {("count", r, "RAW", "counts", False)}
    fan_in_then_orchestration_read(route, x, out)
    assert_bitwise(out, x * np.float32(route.reshape(2, E)[1, 2] * 3))


def test_kernel_read_after_fan_in_through_a_flat_view():
    route, x, out = _route(), ints((1, 16), 1), np.zeros((1, 16), np.float32)
    assert facts_of(compiled(fan_in_then_kernel_read, route, x, out)) == {
        ("count", "scale_in_kernel", "RAW", "counts", False)}
    fan_in_then_kernel_read(route, x, out)
    assert_bitwise(out, x * np.float32(route.reshape(2, E)[0, 3] + 1))


def test_the_bytes_of_a_read_buffer_are_reused_only_after_the_read():
    route = np.arange(16 * 64, dtype=np.int32).reshape(16, 64)
    y, out = ints((16, 64), 2), np.zeros((16, 64), np.float32)
    c = compiled(read_then_reuse, route, y, out)
    a = allocs(c)
    assert a["big"].offset == a["cnt"].offset                 # the reuse happens ...
    r = scalar_node("read", "read-then-reuse", __file__)
    assert reuse_facts(c) == {(r, "make_big", "REUSE", "big", False)}   # ... ordered after the read
    check_plan(c.facts["memplan"], c.facts["access"], c.facts["deps"] + c.facts["memplan"].reuse_edges)
    assert unordered_reuses(c) == []
    read_then_reuse(route, y, out)
    assert_bitwise(out, y * 2 + np.float32(route[3, 5] + 1))
