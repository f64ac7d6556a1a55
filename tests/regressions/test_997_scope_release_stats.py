"""Mirrors hw-native-sys/pypto-lib#997 (nested `pl.scope()` maps to rings; each scope frees its
tensors on close; reclaim is only visible when the ring is tight) and hw-native-sys/simpler#793
(users could not size the ring heap: report the peak), on the scope semantics of
hw-native-sys/pypto#1572 (`pl.scope` + `auto_scope=False`).

In the reference, whether a scope's release actually happened was visible only as a deadlock or an
out-of-memory on a tight ring, and the peak was not reported.

Right behaviour (DESIGN.md §5): with `auto_scope=False`, a tensor created in a scope lives until the
scope closes, then its bytes are free: a tensor created after the scope takes them, ordered after
every task that touched the old tenant. The scope statistics report, per scope, the bytes
allocated inside it, the peak live bytes, and the bytes held at its exit - at compile time, before
anything runs. Automatic placement never needs more than this manual placement. Using a tensor after
its scope closed is a compile error at the line of the use. The answer is the sequential one.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.analysis.scope_stats import scope_stats
from pto.errors import PlValueError
from pto.passes.memplan import check_plan
from regression_helpers import allocs, assert_bitwise, assert_error_at, compiled, ints, marked_line, \
    reuse_facts, share_bytes, unordered_reuses

R, D = 16, 64
KIB = 1024


def _body(x, y, out, out2):
    keep = pl.create_tensor([R, D], pl.FP32)               # 4 KiB, the whole program
    with pl.at(name_hint="make_keep"):
        keep[:, :] = pl.mul(x, 2.0)
    with pl.scope():  # SCOPE outer
        a = pl.create_tensor([R, D], pl.FP32)              # 4 KiB, released when `outer` closes
        with pl.at(name_hint="make_a"):
            a[:, :] = pl.add(keep, 1.0)
        with pl.scope():  # SCOPE inner
            b = pl.create_tensor([R, D // 2], pl.FP32)     # 2 KiB, released when `inner` closes
            with pl.at(name_hint="make_b"):
                b[:, :] = pl.mul(a[:, 0 : D // 2], 3.0)
            with pl.at(name_hint="use_b"):
                out[:, 0 : D // 2] = pl.add(b, keep[:, 0 : D // 2])
        with pl.at(name_hint="use_a"):
            out[:, D // 2 : D] = a[:, D // 2 : D]
    c = pl.create_tensor([R, D], pl.FP32)                  # after `outer`: a's bytes are free
    with pl.at(name_hint="make_c"):
        c[:, :] = pl.mul(y, 5.0)
    with pl.at(name_hint="use_c"):
        out2[:, :] = pl.add(c, keep)


@pl.jit(auto_scope=False)
def manual_scopes(x: pl.Tensor[[R, D], pl.FP32], y: pl.Tensor[[R, D], pl.FP32],
                  out: pl.Out[pl.Tensor[[R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    _body(x, y, out, out2)


@pl.jit
def auto_scopes(x: pl.Tensor[[R, D], pl.FP32], y: pl.Tensor[[R, D], pl.FP32],
                out: pl.Out[pl.Tensor[[R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    _body(x, y, out, out2)


@pl.jit(auto_scope=False)
def use_after_scope(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.scope():
        tmp = pl.create_tensor([R, D], pl.FP32)
        with pl.at(name_hint="fill"):
            tmp[:, :] = pl.mul(x, 2.0)
    with pl.at(name_hint="late"):
        out[:, :] = pl.add(tmp, 1.0)  # ERROR-LINE late-use


def _args():
    return ints((R, D), 1), ints((R, D), 2), np.zeros((R, D), np.float32), np.zeros((R, D), np.float32)


def test_scope_statistics_report_allocation_peak_and_held_bytes():
    c = compiled(manual_scopes, *_args())
    rows = scope_stats(c.program.entry, c.facts["memplan"])
    assert [(r.depth, r.allocated, r.peak, r.held) for r in rows] == [
        (0, 14 * KIB, 10 * KIB, 0),              # frame: keep + a + b + c; peak keep + a + b
        (1, 6 * KIB, 10 * KIB, 4 * KIB),         # outer: a + b; keep outlives it
        (2, 2 * KIB, 10 * KIB, 8 * KIB),         # inner: b; keep and a outlive it
    ]
    lines = [int(r.site.rsplit(":", 1)[1]) for r in rows[1:]]
    assert lines == [marked_line(t, __file__, marker="# SCOPE") for t in ("outer", "inner")]
    assert c.facts["memplan"].workspace == 10 * KIB


def test_a_closed_scope_hands_its_bytes_on_in_order():
    c = compiled(manual_scopes, *_args())
    a = allocs(c)
    assert share_bytes(a["a"], a["c"])
    assert not share_bytes(a["keep"], a["c"])
    assert reuse_facts(c) == {("use_a", "make_c", "REUSE", "c", False),    # the last reader of a ...
                              ("make_b", "make_c", "REUSE", "c", False)}   # ... and the other one
    plan = c.facts["memplan"]
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []


def test_automatic_scopes_need_no_more_than_the_manual_ones():
    manual = compiled(manual_scopes, *_args()).facts["memplan"]
    auto = compiled(auto_scopes, *_args()).facts["memplan"]
    assert auto.workspace <= manual.workspace


@pytest.mark.parametrize("kernel", [manual_scopes, auto_scopes], ids=["manual", "auto"])
def test_scoped_program_gives_the_sequential_answer(kernel):
    x, y, out, out2 = _args()
    kernel(x, y, out, out2)
    keep = x * 2
    a = keep + 1
    assert_bitwise(out, np.concatenate([a[:, : D // 2] * 3 + keep[:, : D // 2], a[:, D // 2 :]], axis=1))
    assert_bitwise(out2, y * 5 + keep)


@pytest.mark.parametrize("entry", ["call", "compile"])
def test_a_tensor_used_after_its_scope_is_a_compile_error(entry):
    x, _, out, _ = _args()
    api = use_after_scope if entry == "call" else use_after_scope.compile
    with pytest.raises(PlValueError) as info:
        api(x, out)
    assert_error_at(info, PlValueError, "late-use", __file__, "pl.scope")
