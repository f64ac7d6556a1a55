"""Mirrors hw-native-sys/pypto#1648: a vector-produced GM tensor used as a matmul RHS was not ordered.

A vector (AIV) task wrote a GM tensor and a cube (AIC) matmul in a later scope used it as its right
operand; nothing ordered them, so the matmul intermittently read zero-initialized memory.

Right behaviour: the AIC matmul task has a RAW edge from the AIV producer, across the scope
boundary, under manual scopes as under automatic ones, and the product equals the numpy golden
bitwise (small integers: exact in FP32).
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, compiled, facts_of, ints

M, K, N = 16, 32, 16


@pl.jit(auto_scope=False)
def vec_then_cube_manual(a: pl.Tensor[[M, K], pl.FP32], w: pl.Tensor[[K, N], pl.FP32],
                         out: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    wt = pl.create_tensor([K, N], pl.FP32)
    with pl.scope():
        with pl.at(name_hint="vec_prep"):
            wt[:, :] = pl.mul(w, 2.0)
    with pl.scope():
        with pl.at(name_hint="cube_mm"):
            out[:, :] = pl.matmul(a, wt)


@pl.jit
def vec_then_cube_auto(a: pl.Tensor[[M, K], pl.FP32], w: pl.Tensor[[K, N], pl.FP32],
                       out: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    wt = pl.create_tensor([K, N], pl.FP32)
    for h in pl.spmd(2, name_hint="vec_prep"):       # two vector blocks, one per half of the rows
        wt[h * 16 : h * 16 + 16, :] = pl.add(w[h * 16 : h * 16 + 16, :], 1.0)
    with pl.scope():
        with pl.at(name_hint="cube_mm"):
            out[:, :] = pl.matmul(a, wt)


def _args():
    return ints((M, K), 1), ints((K, N), 2), np.zeros((M, N), np.float32)


def test_manual_scopes_order_the_cube_task_after_the_vector_task():
    c = compiled(vec_then_cube_manual, *_args())
    assert facts_of(c) == {("vec_prep", "cube_mm", "RAW", "wt", False)}
    cores = {f.name: f.attrs.get("core") for f in c.program.functions[1:]}
    assert cores == {"vec_prep": "aiv", "cube_mm": "aic"}


def test_manual_scopes_product_matches_the_golden():
    a, w, out = _args()
    vec_then_cube_manual(a, w, out)
    assert_bitwise(out, a @ (w * np.float32(2)))


def test_spmd_producer_orders_the_matmul_and_matches_the_golden():
    a, w, out = _args()
    c = compiled(vec_then_cube_auto, a, w, out)
    assert facts_of(c) == {("vec_prep", "cube_mm", "RAW", "wt", False)}
    vec_then_cube_auto(a, w, out)
    assert_bitwise(out, a @ (w + np.float32(1)))
