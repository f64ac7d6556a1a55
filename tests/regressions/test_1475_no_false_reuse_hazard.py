"""Mirrors hw-native-sys/pypto#1475 (and the CapacityGated follow-up hw-native-sys/pypto#1879):
over-aggressive reuse serialized independent matmuls.

A liveness-only greedy coalescer gave two independent cube matmuls overlapping buffers; the WAR
hazard it created made ptoas insert barriers between them (false serialization, and a correctness
risk wherever the sync is missed).

Right behaviour: buffers that are live at the same time are never coalesced, so two independent
matmuls whose results are both consumed later get disjoint buffers (in GM and in L0C) and no edge
or REUSE edge between them: they stay free to run concurrently. And a scratch buffer shared by the
concurrent iterations of a `pl.parallel` loop is not silently shared: the loop is rejected at its
line (one buffer, one offset: the iterations would race on it).
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from regression_helpers import allocs, assert_bitwise, assert_error_at, compiled, exp32, facts_of, ints, \
    normal, share_bytes

M, K, N = 16, 32, 32


@pl.jit
def two_matmul_tasks(x: pl.Tensor[[M, K], pl.FP32], wg: pl.Tensor[[K, N], pl.FP32], wu: pl.Tensor[[K, N], pl.FP32],
                     out: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    g = pl.create_tensor([M, N], pl.FP32)
    u = pl.create_tensor([M, N], pl.FP32)
    with pl.at(name_hint="mm_gate"):
        g[:, :] = pl.matmul(x, wg)
    with pl.at(name_hint="mm_up"):
        u[:, :] = pl.matmul(x, wu)
    with pl.at(name_hint="combine"):
        out[:, :] = pl.mul(g, u)


@pl.jit
def two_matmuls_one_kernel(x: pl.Tensor[[M, K], pl.FP32], wg: pl.Tensor[[K, N], pl.FP32],
                           wu: pl.Tensor[[K, N], pl.FP32], out: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    with pl.at(name_hint="both"):
        g = pl.matmul(x, wg)
        u = pl.matmul(x, wu)
        out[:, :] = pl.sub(g, u)


@pl.jit
def scratch_in_parallel(x: pl.Tensor[[4, M, N], pl.FP32], out: pl.Out[pl.Tensor[[4, M, N], pl.FP32]]):
    for i in pl.parallel(4):  # ERROR-LINE shared-scratch
        tmp = pl.create_tensor([M, N], pl.FP32)
        with pl.at(name_hint="make_tmp"):
            tmp[:, :] = pl.exp(pl.reshape(x[i : i + 1, :, :], [M, N]))
        with pl.at(name_hint="use_tmp"):
            out[i : i + 1, :, :] = pl.reshape(pl.add(tmp, 1.0), [1, M, N])


@pl.jit
def scratch_slices_in_parallel(x: pl.Tensor[[4, M, N], pl.FP32], out: pl.Out[pl.Tensor[[4, M, N], pl.FP32]]):
    tmp = pl.create_tensor([4, M, N], pl.FP32)         # the fix the error suggests: a slice per iteration
    for i in pl.parallel(4):
        with pl.at(name_hint="make_tmp"):
            tmp[i : i + 1, :, :] = pl.exp(x[i : i + 1, :, :])
        with pl.at(name_hint="use_tmp"):
            out[i : i + 1, :, :] = pl.add(tmp[i : i + 1, :, :], 1.0)


def _args():
    return ints((M, K), 1), ints((K, N), 2), ints((K, N), 3), np.zeros((M, N), np.float32)


def test_independent_matmul_tasks_get_disjoint_buffers_and_no_edge_between_them():
    c = compiled(two_matmul_tasks, *_args())
    a = allocs(c)
    assert not share_bytes(a["g"], a["u"])
    assert c.facts["memplan"].reuse_edges == []
    assert facts_of(c) == {("mm_gate", "combine", "RAW", "g", False), ("mm_up", "combine", "RAW", "u", False)}


def test_independent_matmul_tasks_give_the_golden():
    x, wg, wu, out = _args()
    two_matmul_tasks(x, wg, wu, out)
    assert_bitwise(out, (x @ wg) * (x @ wu))


def test_two_matmul_results_of_one_kernel_are_disjoint_in_l0c():
    x, wg, wu, out = _args()
    c = compiled(two_matmuls_one_kernel, x, wg, wu, out)
    l0c = c.facts["onchip"]["both"]["L0C"]
    results = sorted(label for label in l0c["offsets"] if "->" not in label)
    assert len(results) == 2, l0c
    (o1, s1), (o2, s2) = ((l0c["offsets"][r], l0c["sizes"][r]) for r in results)
    assert o1 + s1 <= o2 or o2 + s2 <= o1, l0c
    two_matmuls_one_kernel(x, wg, wu, out)
    assert_bitwise(out, x @ wg - x @ wu)


def test_a_scratch_shared_by_parallel_iterations_is_rejected_at_the_loop():
    x, out = normal((4, M, N)), np.zeros((4, M, N), np.float32)
    with pytest.raises(PlValueError) as info:
        compiled(scratch_in_parallel, x, out)
    assert_error_at(info, PlValueError, "shared-scratch", __file__, "pl.parallel", "'tmp'")


def test_a_scratch_slice_per_parallel_iteration_is_accepted():
    x, out = normal((4, M, N)), np.zeros((4, M, N), np.float32)
    assert facts_of(compiled(scratch_slices_in_parallel, x, out)) == {("make_tmp", "use_tmp", "RAW", "tmp", False)}
    scratch_slices_in_parallel(x, out)
    assert_bitwise(out, exp32(x) + np.float32(1))
