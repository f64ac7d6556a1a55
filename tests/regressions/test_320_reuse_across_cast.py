"""Mirrors hw-native-sys/pypto#320: reuse was disabled for cast outputs.

`pto.alloc_tile` binds a dtype to each buffer, so reusing a buffer across a cast (an FP32 buffer
taken over by a BF16 cast output) failed at run time; the fix marked cast outputs `no_reuse`, and
review found that enforced on only one side.

Right behaviour in pto: GM buffers are bytes. A BF16 (or INT32) buffer may take the bytes of a dead
FP32 buffer - the plan says so, orders the new occupant after every user of the old one, and passes
the checker - and the values read back are exactly the numpy casts (round to nearest even, ml_dtypes)
of what was written, never a reinterpretation of the old occupant's bits.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

import pto.language as pl
from pto.passes.memplan import check_plan
from regression_helpers import allocs, assert_bitwise, compiled, normal, reuse_facts, share_bytes, unordered_reuses

R, D = 16, 64


@pl.jit
def fp32_then_bf16(x: pl.Tensor[[R, D], pl.FP32], y: pl.Tensor[[R, D], pl.FP32],
                   out1: pl.Out[pl.Tensor[[R, D], pl.FP32]], out2: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    wide = pl.create_tensor([R, D], pl.FP32)
    with pl.at(name_hint="make_wide"):
        wide[:, :] = pl.mul(x, 3.0)
    with pl.at(name_hint="use_wide"):
        out1[:, :] = pl.add(wide, 1.0)
    narrow = pl.create_tensor([R, D], pl.BF16)         # takes wide's bytes (half of them)
    with pl.at(name_hint="cast_down"):
        narrow[:, :] = pl.cast(y, pl.BF16)
    with pl.at(name_hint="cast_up"):
        out2[:, :] = pl.cast(narrow, pl.FP32)


@pl.jit
def bf16_then_int32(x: pl.Tensor[[R, D], pl.FP32], out1: pl.Out[pl.Tensor[[R, D], pl.FP32]],
                    out2: pl.Out[pl.Tensor[[R, D], pl.INT32]]):
    half = pl.create_tensor([R, D], pl.BF16)
    with pl.at(name_hint="to_bf16"):
        half[:, :] = pl.cast(x, pl.BF16)
    with pl.at(name_hint="from_bf16"):
        out1[:, :] = pl.cast(half, pl.FP32)
    whole = pl.create_tensor([R, D], pl.INT32)         # larger than half: starts on half's bytes
    with pl.at(name_hint="to_int"):
        whole[:, :] = pl.cast(pl.mul(x, 100.0), pl.INT32, mode="floor")
    with pl.at(name_hint="use_int"):
        out2[:, :] = pl.add(whole, 1)


def test_a_bf16_buffer_takes_the_bytes_of_a_dead_fp32_buffer_in_order():
    x, y = normal((R, D)), normal((R, D), 1)
    c = compiled(fp32_then_bf16, x, y, np.zeros_like(x), np.zeros_like(x))
    a = allocs(c)
    assert share_bytes(a["wide"], a["narrow"])
    assert reuse_facts(c) == {("use_wide", "cast_down", "REUSE", "narrow", False)}
    plan = c.facts["memplan"]
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []


def test_values_across_the_cast_reuse_are_the_numpy_casts():
    x, y = normal((R, D)), normal((R, D), 1)
    out1, out2 = np.zeros_like(x), np.zeros_like(x)
    fp32_then_bf16(x, y, out1, out2)
    assert_bitwise(out1, x * np.float32(3) + np.float32(1))
    assert_bitwise(out2, y.astype(ml_dtypes.bfloat16).astype(np.float32))


def test_an_int32_buffer_over_bf16_bytes():
    x = normal((R, D), 2)
    out1, out2 = np.zeros_like(x), np.zeros((R, D), np.int32)
    c = compiled(bf16_then_int32, x, out1, out2)
    a = allocs(c)
    assert share_bytes(a["half"], a["whole"])
    assert reuse_facts(c) == {("from_bf16", "to_int", "REUSE", "whole", False)}
    bf16_then_int32(x, out1, out2)
    assert_bitwise(out1, x.astype(ml_dtypes.bfloat16).astype(np.float32))
    assert_bitwise(out2, np.floor(x * np.float32(100)).astype(np.int32) + 1)
