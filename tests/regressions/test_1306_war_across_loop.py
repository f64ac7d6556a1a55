"""Mirrors hw-native-sys/simpler#1306 (follow-ups hw-native-sys/simpler#1388, hw-native-sys/pypto#2058):
the runtime's TensorMap tracked writers only, so a reader followed by an aliasing InOut writer across a
loop got no WAR edge (Qwen3-14B prefill ~10% off golden).

Right behaviour: dependencies are computed at compile time from every access, reads included. In a
loop where a task reads a state tensor and a later task updates it in place, the graph has the WAR
edge within an iteration and the loop-carried WAR/RAW edges between iterations, so no schedule can
let an update overtake a read; the answer is the sequential one.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, compiled, edges, ints, unordered_conflicts

T, D = 4, 16


@pl.jit
def read_then_update(x: pl.Tensor[[T, D], pl.FP32], state: pl.InOut[pl.Tensor[[T, D], pl.FP32]],
                     out: pl.Out[pl.Tensor[[T, D], pl.FP32]]):
    for i in pl.range(T):
        with pl.at(name_hint="read_state"):
            out[i : i + 1, :] = pl.row_expand_add(x[i : i + 1, :], pl.row_sum(state[0:1, :]))
        with pl.at(name_hint="update_state"):
            state[:, :] = pl.add(state, x)                 # InOut: the same buffer, written in place


@pl.jit
def read_then_update_other_rows(x: pl.Tensor[[T, D], pl.FP32], state: pl.InOut[pl.Tensor[[2 * T, D], pl.FP32]],
                                out: pl.Out[pl.Tensor[[T, D], pl.FP32]]):
    for i in pl.range(T):
        with pl.at(name_hint="read_low"):
            out[i : i + 1, :] = pl.add(state[i : i + 1, :], 1.0)
        with pl.at(name_hint="update_high"):
            state[T + i : T + i + 1, :] = x[i : i + 1, :]  # never a row any iteration reads


def test_reader_then_inout_writer_has_war_within_and_across_iterations():
    x, state, out = ints((T, D), 1), ints((T, D), 2), np.zeros((T, D), np.float32)
    assert edges(read_then_update, x, state, out) == {
        ("read_state", "update_state", "WAR", "state", False),
        ("read_state", "update_state", "WAR", "state", True),
        ("update_state", "read_state", "RAW", "state", True),
        ("update_state", "update_state", "RAW", "state", True),
        ("update_state", "update_state", "WAR", "state", True),
        ("update_state", "update_state", "WAW", "state", True),
    }
    assert unordered_conflicts(compiled(read_then_update, x, state, out)) == []


def test_reader_then_inout_writer_gives_the_sequential_answer():
    x, state, out = ints((T, D), 1), ints((T, D), 2), np.zeros((T, D), np.float32)
    s, want = state.copy(), np.zeros_like(out)
    for i in range(T):
        want[i] = x[i] + s[0].sum()
        s = s + x
    read_then_update(x, state, out)
    assert_bitwise(out, want)
    assert_bitwise(state, s)


def test_disjoint_rows_of_the_state_need_no_war_edge():
    x, state, out = ints((T, D), 3), ints((2 * T, D), 4), np.zeros((T, D), np.float32)
    assert edges(read_then_update_other_rows, x, state, out) == set()
    assert unordered_conflicts(compiled(read_then_update_other_rows, x, state, out)) == []
    want_state = state.copy()
    want_state[T:] = x
    want_out = state[:T] + np.float32(1)
    read_then_update_other_rows(x, state, out)
    assert_bitwise(out, want_out)
    assert_bitwise(state, want_state)
