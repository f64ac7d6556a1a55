"""Mirrors hw-native-sys/simpler#2084: host-side get/set_tensor_data must declare ordering.

The reference's host-side scalar accessors were blind to writes made by tasks in manual scopes (or
on `manual_dep` tensors): a get could read before the task wrote, a set could land before a task
had read the old value.

Right behaviour: in pto the orchestration's scalar `pl.read` / `pl.write` are nodes of the
dependency graph like tasks, with `auto_scope=False` as with automatic scopes. A read inside or
after a manual scope follows the task that wrote the element (RAW); a write follows the task that
read the old value (WAR) and precedes the task that reads the new one (RAW); the results are the
sequential ones.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, ints, scalar_node

R, D = 4, 8


@pl.jit(auto_scope=False)
def manual_scope_get_set(x: pl.Tensor[[R, D], pl.FP32], table: pl.InOut[pl.Tensor[[R, D], pl.FP32]],
                         out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.scope():
        with pl.at(name_hint="task_write"):
            table[0:1, :] = pl.mul(x[0:1, :], 2.0)
        inside = pl.read(table, [0, 3])  # NODE get-inside
        with pl.at(name_hint="task_read"):
            out[:, :] = pl.add(table, 1.0)          # reads the old [2, 2] ...
        pl.write(table, [2, 2], inside)  # NODE set-inside
    after = pl.read(table, [2, 2])  # NODE get-after
    with pl.at(name_hint="task_use"):
        out[1:2, :] = pl.add(table[2:3, :], after)  # ... and then the new one


def test_host_get_and_set_are_ordered_against_tasks_in_the_manual_scope():
    x, table, out = ints((R, D)), ints((R, D), 1), np.zeros((R, D), np.float32)
    get_in = scalar_node("read", "get-inside", __file__)
    set_in = scalar_node("write", "set-inside", __file__)
    get_after = scalar_node("read", "get-after", __file__)
    assert edges(manual_scope_get_set, x, table, out) == {
        ("task_write", get_in, "RAW", "table", False),
        ("task_write", "task_read", "RAW", "table", False),
        ("task_read", set_in, "WAR", "table", False),      # the set waits for the task reading the old value
        (set_in, get_after, "RAW", "table", False),
        (set_in, "task_use", "RAW", "table", False),
        ("task_read", "task_use", "WAW", "out", False),    # both write row 1 of out
    }


def test_host_get_and_set_in_the_manual_scope_give_the_sequential_answer():
    x, table, out = ints((R, D)), ints((R, D), 1), np.zeros((R, D), np.float32)
    t = table.copy()
    t[0] = x[0] * 2
    inside = t[0, 3]
    want = t + 1
    t[2, 2] = inside
    want[1] = t[2] + t[2, 2]
    manual_scope_get_set(x, table, out)
    assert_bitwise(out, want)
    assert_bitwise(table, t)
