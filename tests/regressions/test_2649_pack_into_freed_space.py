"""Mirrors hw-native-sys/pypto#1908 and hw-native-sys/pypto#2649: packing into freed space.

The reference address allocator was a bump allocator that never subdivided a freed region, which
wasted L0 on chained matmuls (#1908); #2649 retried with aligned subrange placement when
whole-buffer packing overflowed (L0B 96 KiB -> 64 KiB on an A5 case).

Right behaviour: the planners place by liveness and subdivide freed space. On chip, the L0B staging
buffers of three chained matmuls - 80 KiB in all, more than L0B's 64 KiB - fit, because each
matmul's right operand takes the bytes of the previous one (extent == peak); in GM, three smaller
buffers live at once take the bytes of one dead larger buffer (workspace == lower bound). The
answers are the golden ones (chained BF16 matmuls of small integers are exact in FP32; the BF16
roundings are the numpy/ml_dtypes ones).
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

import pto.language as pl
from pto.passes.memplan import check_plan
from regression_helpers import allocs, assert_bitwise, compiled, ints, share_bytes, unordered_reuses

M, H = 64, 128
BF = ml_dtypes.bfloat16


@pl.jit
def chained_matmuls(a: pl.Tensor[[M, H], pl.BF16], b1: pl.Tensor[[H, H], pl.BF16], b2: pl.Tensor[[H, H], pl.BF16],
                    b3: pl.Tensor[[H, M], pl.BF16], out: pl.Out[pl.Tensor[[M, M], pl.FP32]]):
    with pl.at(name_hint="chain"):
        h1 = pl.cast(pl.matmul(a, b1, out_dtype=pl.FP32), pl.BF16)
        h2 = pl.cast(pl.matmul(h1, b2, out_dtype=pl.FP32), pl.BF16)
        out[:, :] = pl.matmul(h2, b3, out_dtype=pl.FP32)


@pl.jit
def three_into_one_hole(x: pl.Tensor[[16, 64], pl.FP32], y: pl.Tensor[[16, 64], pl.FP32],
                        out1: pl.Out[pl.Tensor[[16, 64], pl.FP32]], out2: pl.Out[pl.Tensor[[16, 16], pl.FP32]]):
    big = pl.create_tensor([16, 64], pl.FP32)          # 4 KiB, dead after use_big
    with pl.at(name_hint="make_big"):
        big[:, :] = pl.mul(x, 2.0)
    with pl.at(name_hint="use_big"):
        out1[:, :] = pl.add(big, 1.0)
    p = pl.create_tensor([16, 32], pl.FP32)            # 2 KiB + 1 KiB + 1 KiB, all live at once
    q = pl.create_tensor([16, 16], pl.FP32)
    r = pl.create_tensor([16, 16], pl.FP32)
    with pl.at(name_hint="make_pqr"):
        p[:, :] = y[:, 0:32]
        q[:, :] = y[:, 32:48]
        r[:, :] = y[:, 48:64]
    with pl.at(name_hint="use_pqr"):
        out2[:, :] = pl.add(pl.add(p[:, 0:16], p[:, 16:32]), pl.sub(q, r))


def _chain_args():
    return (ints((M, H), 1, -1, 2, BF), ints((H, H), 2, -1, 2, BF), ints((H, H), 3, -1, 2, BF),
            ints((H, M), 4, -1, 2, BF), np.zeros((M, M), np.float32))


def test_chained_matmuls_reuse_l0b_to_fit():
    c = compiled(chained_matmuls, *_chain_args())
    l0b = c.facts["onchip"]["chain"]["L0B"]
    assert sum(l0b["sizes"].values()) > l0b["capacity"]        # without reuse it would not fit
    assert l0b["extent"] == l0b["peak"] <= l0b["capacity"]
    for space, plan in c.facts["onchip"]["chain"].items():
        assert plan["extent"] == plan["peak"], space


def test_chained_matmuls_give_the_golden():
    a, b1, b2, b3, out = _chain_args()
    chained_matmuls(a, b1, b2, b3, out)
    f32 = np.float32
    h1 = (a.astype(f32) @ b1.astype(f32)).astype(BF)
    h2 = (h1.astype(f32) @ b2.astype(f32)).astype(BF)
    assert_bitwise(out, h2.astype(f32) @ b3.astype(f32))


def test_three_small_buffers_share_one_freed_buffer_in_gm():
    x, y = ints((16, 64), 1), ints((16, 64), 2)
    c = compiled(three_into_one_hole, x, y, np.zeros_like(x), np.zeros((16, 16), np.float32))
    plan, a = c.facts["memplan"], allocs(c)
    assert plan.naive == 8 * 1024
    assert plan.workspace == plan.lower_bound == 4 * 1024
    assert all(share_bytes(a["big"], a[n]) for n in "pqr")
    assert not any(share_bytes(a[m], a[n]) for m, n in ("pq", "pr", "qr"))
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []


def test_three_small_buffers_give_the_golden():
    x, y = ints((16, 64), 1), ints((16, 64), 2)
    out1, out2 = np.zeros_like(x), np.zeros((16, 16), np.float32)
    three_into_one_hole(x, y, out1, out2)
    assert_bitwise(out1, x * 2 + 1)
    assert_bitwise(out2, (y[:, 0:16] + y[:, 16:32]) + (y[:, 32:48] - y[:, 48:64]))
