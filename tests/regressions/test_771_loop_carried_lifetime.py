"""Mirrors hw-native-sys/pypto#771 (fixes hw-native-sys/pypto#768): the lifetime of a loop's
init value / return vars.

The reference liveness ignored `ForStmt`/`WhileStmt` return_vars, so a buffer holding a
loop-carried value looked dead before the loop was done with it; memory reuse handed its bytes to
a buffer of the loop body: silent data corruption.

Right behaviour: a loop-carried value - a tile carried by a kernel loop, or a GM buffer carried by
an orchestration loop (ping-pong buffers) - is live for the whole loop and until its last use after
it. No buffer defined inside the loop shares its bytes (on chip and in the GM workspace), the GM
plan passes the independent checker, and the answer is the sequential one (the compiled program,
which runs on the planned offsets, agrees bitwise with the interpreter: tests/conftest.py).
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto.ir import ops
from pto.ir.printer import Printer
from pto.passes.memplan import check_plan
from regression_helpers import assert_bitwise, compiled, ints, share_bytes, unordered_reuses

N, R, D = 3, 16, 32


@pl.jit
def ping_pong(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    a = pl.create_tensor([R, D], pl.FP32)
    with pl.at(name_hint="init"):
        a[:, :] = pl.add(x, 0.0)
    cur = a                                             # the loop's init value: a GM buffer
    for i in pl.range(N):
        nxt = pl.create_tensor([R, D], pl.FP32)
        with pl.at(name_hint="step"):
            nxt[:, :] = pl.add(pl.mul(cur, 2.0), cur)   # reads last iteration's buffer
        cur = nxt                                       # carried: a different buffer every iteration
    with pl.at(name_hint="finish"):
        out[:, :] = pl.add(cur, 1.0)                    # the loop's return value, used after it


@pl.jit
def carried_tiles(x: pl.Tensor[[4, R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="acc_loop"):
        acc = pl.full([R, D], pl.FP32, 0.0)
        m = pl.full([R, 1], pl.FP32, -1000.0)
        for i in pl.range(4):
            t = pl.mul(pl.reshape(x[i : i + 1, :, :], [R, D]), 2.0)
            m = pl.maximum(m, pl.row_max(t))
            acc = pl.add(acc, t)
        out[:, :] = pl.row_expand_add(acc, m)


def test_gm_carried_buffer_lives_through_the_loop_and_keeps_its_bytes():
    x, out = ints((R, D)), np.zeros((R, D), np.float32)
    c = compiled(ping_pong, x, out)
    plan = c.facts["memplan"]
    loop = next(op for op in c.program.entry.body.ops if isinstance(op, ops.ForLoop))
    t0, t1 = plan.timeline.time[loop], plan.timeline.end[loop]
    across = [a for a in plan.allocs if a.start < t0 and a.end > t1]   # live before, through and after
    inside = [a for a in plan.allocs if loop in a.loops]
    assert across and inside, ([(a.name, a.start, a.end) for a in plan.allocs], t0, t1)
    for a in across:
        for b in inside:
            assert not share_bytes(a, b), f"{b.name} (in the loop) takes the bytes of the carried {a.name}"
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []


def test_gm_ping_pong_gives_the_sequential_answer():
    x, out = ints((R, D)), np.zeros((R, D), np.float32)
    ping_pong(x, out)
    assert_bitwise(out, x * np.float32(3 ** N) + np.float32(1))


def _loop_buffers(kernel_fn, plan: dict) -> tuple[list, list]:
    """(carried, body) on-chip buffers of the kernel's loop as (label, offset, size)."""
    printer = Printer()
    printer.function(kernel_fn)
    loop = next(op for op in kernel_fn.walk() if isinstance(op, ops.ForLoop))
    body = loop.regions[0]
    carried = {printer.name(a) for a in body.args[1:]}
    defined = {printer.name(r) for op in body.walk() for r in op.results}
    out_c, out_b = [], []
    for label, offset in plan["offsets"].items():
        entry = (label, offset, plan["sizes"][label])
        if label in carried:
            out_c.append(entry)
        elif label in defined or label.rsplit("@", 1)[-1] in defined:   # a body value or its staging copy
            out_b.append(entry)
    return out_c, out_b


def test_carried_tiles_keep_their_on_chip_bytes_for_the_whole_loop():
    x, out = ints((4, R, D), 1), np.zeros((R, D), np.float32)
    c = compiled(carried_tiles, x, out)
    kernel = next(f for f in c.program.functions if f.name == "acc_loop")
    plan = c.facts["onchip"]["acc_loop"]["UB"]
    carried, body = _loop_buffers(kernel, plan)
    assert {label for label, _, _ in carried} == {"%acc", "%m"}
    assert body
    for lc, oc, sc in carried:
        for lb, ob, sb in body:
            assert oc + sc <= ob or ob + sb <= oc, f"{lb} (in the loop) overlaps the carried {lc}: {plan}"


def test_carried_tiles_give_the_sequential_answer():
    x, out = ints((4, R, D), 1), np.zeros((R, D), np.float32)
    carried_tiles(x, out)
    t = x * np.float32(2)
    assert_bitwise(out, t.sum(axis=0) + t.max(axis=(0, 2))[:, None])
