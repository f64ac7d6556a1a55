"""Mirrors hw-native-sys/pypto#503: allow reuse when last_use == def.

The reference changed its overlap test from `<` to `<=` so that an op's output may take the buffer
of an input whose last use is that very op ("SSA reads inputs before it writes outputs"), saving
Vec memory. That is only sound where the hardware op really reads everything before it writes -
not for reductions, broadcasts, matmuls, or a task that streams tiles from one GM buffer to another.

Right behaviour in pto (the conservative side of that trade, documented in passes/onchip.py and
passes/memplan.py): an op's operands and its result are live together, so they never share bytes -
on chip, and in GM for a task that reads one buffer while writing another. Buffers whose
lifetimes do not touch still share bytes (reuse is not simply switched off), and the answers are
the sequential ones.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto.ir.printer import Printer
from pto.passes.memplan import check_plan
from regression_helpers import allocs, assert_bitwise, compiled, ints, reuse_facts, share_bytes, unordered_reuses

R, D = 16, 64


@pl.jit
def vector_chain(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="chain"):
        t1 = pl.mul(x, 2.0)
        m = pl.row_max(t1)
        t2 = pl.row_expand_sub(t1, m)                  # last use of t1
        t3 = pl.abs(t2)                                # last use of t2
        s = pl.row_sum(t3)
        t4 = pl.row_expand_add(t3, s)                  # last use of t3 and s
        out[:, :] = pl.neg(t4)


@pl.jit
def stream_copy(x: pl.Tensor[[R, D], pl.FP32], y: pl.Tensor[[R, D], pl.FP32],
                out: pl.Out[pl.Tensor[[R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    a = pl.create_tensor([R, D], pl.FP32)
    with pl.at(name_hint="make_a"):
        a[:, :] = pl.mul(x, 3.0)
    b = pl.create_tensor([R, D], pl.FP32)
    with pl.at(name_hint="a_to_b"):                    # a's last use is b's first write
        for r in pl.range(R // 4):
            b[r * 4 : r * 4 + 4, :] = pl.add(a[(R // 4 - 1 - r) * 4 : (R // 4 - r) * 4, :], 1.0)
    with pl.at(name_hint="use_b"):
        out[:, :] = pl.mul(b, 2.0)
    c = pl.create_tensor([R, D], pl.FP32)              # a is dead here: c may take its bytes
    with pl.at(name_hint="make_c"):
        c[:, :] = pl.neg(y)
    with pl.at(name_hint="use_c"):
        out2[:, :] = pl.add(c, 1.0)


def test_no_op_shares_bytes_between_its_operands_and_its_result_on_chip():
    x, out = ints((R, D)), np.zeros((R, D), np.float32)
    c = compiled(vector_chain, x, out)
    kernel = next(f for f in c.program.functions if f.name == "chain")
    plans = c.facts["onchip"]["chain"]
    printer = Printer()
    printer.function(kernel)
    name = printer.name
    checked = 0
    for op in kernel.walk():
        if not op.results:
            continue
        result = name(op.results[0])
        for plan in plans.values():
            if result not in plan["offsets"]:
                continue
            lo, hi = plan["offsets"][result], plan["offsets"][result] + plan["sizes"][result]
            for v in op.operands():
                for label in (name(v), f"{name(v)}->UB@{result}"):
                    if label in plan["offsets"]:
                        o, s = plan["offsets"][label], plan["sizes"][label]
                        assert o + s <= lo or hi <= o, f"{op.name}: operand {label} shares bytes with {result}"
                        checked += 1
    assert checked >= 6
    ub = plans["UB"]
    assert ub["extent"] < sum(ub["sizes"].values())    # dead tiles are still reused


def test_vector_chain_gives_the_sequential_answer():
    x, out = ints((R, D)), np.zeros((R, D), np.float32)
    vector_chain(x, out)
    t1 = x * 2
    t3 = np.abs(t1 - t1.max(axis=1, keepdims=True))
    assert_bitwise(out, -(t3 + t3.sum(axis=1, keepdims=True)))


def test_a_task_reading_one_buffer_and_writing_another_keeps_them_apart_in_gm():
    x, y = ints((R, D), 1), ints((R, D), 2)
    c = compiled(stream_copy, x, y, np.zeros_like(x), np.zeros_like(x))
    a = allocs(c)
    assert not share_bytes(a["a"], a["b"])              # last use of a == first write of b
    assert share_bytes(a["a"], a["c"])                  # ... but a's bytes are reused once it is dead
    assert reuse_facts(c) == {("a_to_b", "make_c", "REUSE", "c", False)}
    plan = c.facts["memplan"]
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []


def test_stream_copy_gives_the_sequential_answer():
    x, y = ints((R, D), 1), ints((R, D), 2)
    out, out2 = np.zeros_like(x), np.zeros_like(x)
    stream_copy(x, y, out, out2)
    a = x * 3
    b = np.concatenate([a[(R // 4 - 1 - r) * 4 : (R // 4 - r) * 4] for r in range(R // 4)]) + 1
    assert_bitwise(out, b * 2)
    assert_bitwise(out2, -y + 1)
