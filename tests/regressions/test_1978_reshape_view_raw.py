"""Mirrors hw-native-sys/pypto#1978: a reshape view dropped a cross-task RAW edge.

In the reference stack a producer wrote an MoE dispatch buffer through a reshape view and the
consumer read it through the direct (un-reshaped) view; no edge was emitted, so the consumer raced
the producer (13-48% wrong elements, varying run to run).

Right behaviour: a write through any view of a buffer is a write to that buffer (DESIGN.md §3).
The consumer task gets a RAW edge from the producer whichever view each of them uses, and the
answer is the sequential one.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, exp32, normal

E, R, D = 2, 4, 16  # experts, rows per expert, hidden


@pl.jit
def dispatch_through_reshape(x: pl.Tensor[[E * R, D], pl.FP32], out: pl.Out[pl.Tensor[[E, R, D], pl.FP32]]):
    recv = pl.create_tensor([E, R, D], pl.FP32)
    flat = pl.reshape(recv, [E * R, D])                 # the producer's view: token rows
    for e in pl.spmd(E, name_hint="dispatch"):
        flat[e * R : e * R + R, :] = pl.exp(x[e * R : e * R + R, :])
    for e in pl.spmd(E, name_hint="expert"):           # the consumer's view: the 3-D buffer itself
        out[e : e + 1, :, :] = pl.add(recv[e : e + 1, :, :], 1.0)


@pl.jit
def read_through_reshape(x: pl.Tensor[[E, R, D], pl.FP32], out: pl.Out[pl.Tensor[[E * R, D], pl.FP32]]):
    recv = pl.create_tensor([E, R, D], pl.FP32)
    with pl.at(name_hint="direct_write"):
        recv[1:2, :, :] = pl.mul(x[1:2, :, :], 2.0)    # only expert 1's rows
        recv[0:1, :, :] = pl.mul(x[0:1, :, :], 3.0)
    with pl.at(name_hint="flat_read"):
        out[:, :] = pl.reshape(recv, [E * R, D])


def test_write_through_reshape_read_directly_has_the_raw_edge():
    x, out = normal((E * R, D)), np.zeros((E, R, D), np.float32)
    assert edges(dispatch_through_reshape, x, out) == {("dispatch", "expert", "RAW", "recv", False)}


def test_write_through_reshape_read_directly_gives_the_sequential_answer():
    x, out = normal((E * R, D)), np.zeros((E, R, D), np.float32)
    dispatch_through_reshape(x, out)
    assert_bitwise(out, (exp32(x) + np.float32(1)).reshape(E, R, D))


def test_direct_write_read_through_reshape_has_the_raw_edge_and_answer():
    x, out = normal((E, R, D), seed=1), np.zeros((E * R, D), np.float32)
    assert edges(read_through_reshape, x, out) == {("direct_write", "flat_read", "RAW", "recv", False)}
    read_through_reshape(x, out)
    want = np.concatenate([x[0] * np.float32(3), x[1] * np.float32(2)])
    assert_bitwise(out, want)
