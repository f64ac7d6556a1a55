"""Mirrors hw-native-sys/pypto#1939 (manual_scope writes need a dependency bridge) and
hw-native-sys/pypto#1948 (explicit `deps=[tid]` dropped inside manual_scope).

In the reference, writes made inside a manual scope were invisible to the auto-dependency of tasks
after the scope (pypto-lib added no-op marker tasks such as `exp_routed_tile_done` as a bridge), and
a task inside a manual scope that read a tensor written outside it silently lost its dependency.

Right behaviour: scopes are lifetimes, not dependency barriers (DESIGN.md §5). With
`auto_scope=False` and nested `pl.scope` blocks - also one scope per loop iteration - a task after a
scope depends on the in-scope task that wrote what it reads, a task inside a scope depends on the
task outside that wrote its input, no marker task is needed, and the answer is the sequential one.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, compiled, edges, ints, unordered_conflicts

E, R, D = 4, 4, 16


@pl.jit(auto_scope=False)
def scoped_experts(x: pl.Tensor[[E * R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    routed = pl.create_tensor([E * R, D], pl.FP32)      # created outside every scope
    with pl.at(name_hint="dispatch"):
        routed[:, :] = pl.mul(x, 2.0)
    for e in pl.range(E):
        with pl.scope():
            tmp = pl.create_tensor([R, D], pl.FP32)
            with pl.at(name_hint="expert_in"):         # reads what `dispatch` wrote outside (#1948)
                tmp[:, :] = pl.add(routed[e * R : e * R + R, :], 1.0)
            with pl.scope():
                with pl.at(name_hint="expert_out"):    # writes `routed` inside two scopes (#1939)
                    routed[e * R : e * R + R, :] = pl.mul(tmp, 3.0)
    with pl.at(name_hint="combine"):                   # after the scopes: no marker task needed
        acc = pl.full([R, D], pl.FP32, 0.0)
        for e in pl.range(E):
            acc = pl.add(acc, routed[e * R : e * R + R, :])
        out[:, :] = acc


def test_tasks_across_manual_scope_boundaries_are_ordered():
    x, out = ints((E * R, D)), np.zeros((R, D), np.float32)
    assert edges(scoped_experts, x, out) == {
        ("dispatch", "expert_in", "RAW", "routed", False),      # into the scope
        ("dispatch", "expert_out", "WAW", "routed", False),
        ("dispatch", "combine", "RAW", "routed", False),
        ("expert_in", "expert_out", "RAW", "tmp", False),
        ("expert_in", "expert_out", "WAR", "routed", False),
        ("expert_out", "expert_in", "WAR", "tmp", True),        # next iteration's tmp: the same bytes
        ("expert_in", "expert_in", "WAW", "tmp", True),
        ("expert_in", "expert_out", "RAW", "tmp", True),        # implied; no kill analysis
        ("expert_out", "combine", "RAW", "routed", False),      # out of the scope
    }
    assert unordered_conflicts(compiled(scoped_experts, x, out)) == []


def test_manual_scope_writes_are_seen_downstream():
    x, out = ints((E * R, D)), np.zeros((R, D), np.float32)
    scoped_experts(x, out)
    routed = (x * 2 + 1) * 3
    assert_bitwise(out, routed.reshape(E, R, D).sum(axis=0))
