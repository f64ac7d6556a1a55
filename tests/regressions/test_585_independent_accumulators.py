"""Mirrors hw-native-sys/pypto#585: MemoryReuse aliased gate_acc and up_acc.

In the Qwen3 MLP the two independent accumulators of the gate and up projections, both live for
the whole K loop, were given the same MemRef: each matmul_acc accumulated into the other's sum.

Right behaviour: buffers that are live at the same time never share bytes. The gate and up
accumulators carried by one K loop get disjoint on-chip buffers (and disjoint GM buffers when they
are GM tensors accumulated by tasks), and relu(gate) * up equals the numpy golden bitwise (small
integer inputs: every sum is exact in FP32).
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto.ir import ops
from pto.ir.printer import Printer
from pto.passes.memplan import check_plan
from regression_helpers import allocs, assert_bitwise, compiled, facts_of, ints, share_bytes, unordered_reuses

M, H, F, KT = 16, 64, 32, 16  # tokens, hidden, ffn, K tile


@pl.jit
def mlp_on_chip(x: pl.Tensor[[M, H], pl.FP32], wg: pl.Tensor[[H, F], pl.FP32], wu: pl.Tensor[[H, F], pl.FP32],
                out: pl.Out[pl.Tensor[[M, F], pl.FP32]]):
    with pl.at(name_hint="mlp"):
        gate = pl.full([M, F], pl.FP32, 0.0)
        up = pl.full([M, F], pl.FP32, 0.0)
        for k in pl.range(H // KT):
            xk = x[:, k * KT : k * KT + KT]
            gate = pl.matmul_acc(gate, xk, wg[k * KT : k * KT + KT, :])
            up = pl.matmul_acc(up, xk, wu[k * KT : k * KT + KT, :])
        out[:, :] = pl.mul(pl.relu(gate), up)


@pl.jit
def mlp_in_gm(x: pl.Tensor[[M, H], pl.FP32], wg: pl.Tensor[[H, F], pl.FP32], wu: pl.Tensor[[H, F], pl.FP32],
              out: pl.Out[pl.Tensor[[M, F], pl.FP32]]):
    gate_acc = pl.create_tensor([M, F], pl.FP32)
    up_acc = pl.create_tensor([M, F], pl.FP32)
    with pl.at(name_hint="zero"):
        gate_acc[:, :] = pl.full([M, F], pl.FP32, 0.0)
        up_acc[:, :] = pl.full([M, F], pl.FP32, 0.0)
    for k in pl.range(H // KT):
        with pl.at(name_hint="gate_step"):
            gate_acc[:, :] = pl.matmul_acc(gate_acc, x[:, k * KT : k * KT + KT], wg[k * KT : k * KT + KT, :])
        with pl.at(name_hint="up_step"):
            up_acc[:, :] = pl.matmul_acc(up_acc, x[:, k * KT : k * KT + KT], wu[k * KT : k * KT + KT, :])
    with pl.at(name_hint="combine"):
        out[:, :] = pl.mul(pl.relu(gate_acc), up_acc)


def _args():
    return ints((M, H), 1), ints((H, F), 2), ints((H, F), 3), np.zeros((M, F), np.float32)


def _golden(x, wg, wu):
    return np.maximum(x @ wg, 0) * (x @ wu)


def test_on_chip_accumulators_get_disjoint_buffers():
    c = compiled(mlp_on_chip, *_args())
    plans = c.facts["onchip"]["mlp"]
    found = 0
    for space, plan in plans.items():
        offs, sizes = plan["offsets"], plan["sizes"]
        if "%gate" in offs and "%up" in offs:
            found += 1
            g, u = (offs["%gate"], sizes["%gate"]), (offs["%up"], sizes["%up"])
            assert g[0] + g[1] <= u[0] or u[0] + u[1] <= g[0], f"{space}: gate {g} and up {u} overlap"
    assert found == 1, plans
    # the two new partial sums of one iteration are both live until the loop yields them
    kernel = next(f for f in c.program.functions if f.name == "mlp")
    printer = Printer()
    printer.function(kernel)
    sums = [printer.name(op.results[0]) for op in kernel.walk() if isinstance(op, ops.MatmulAcc)]
    assert len(sums) == 2
    l0c = plans["L0C"]
    (g, gs), (u, us) = ((l0c["offsets"][n], l0c["sizes"][n]) for n in sums)
    assert g + gs <= u or u + us <= g, f"L0C: the gate sum {sums[0]} and the up sum {sums[1]} overlap: {l0c}"


def test_on_chip_accumulators_give_the_golden():
    x, wg, wu, out = _args()
    mlp_on_chip(x, wg, wu, out)
    assert_bitwise(out, _golden(x, wg, wu))


def test_gm_accumulators_get_disjoint_bytes_and_no_edges_between_the_chains():
    c = compiled(mlp_in_gm, *_args())
    a = allocs(c)
    assert not share_bytes(a["gate_acc"], a["up_acc"])
    plan = c.facts["memplan"]
    assert plan.reuse_edges == []
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    assert unordered_reuses(c) == []
    chains = {("gate_step", "up_step"), ("up_step", "gate_step")}
    assert not {(s, d) for s, d, *_ in facts_of(c)} & chains   # the two projections stay independent


def test_gm_accumulators_give_the_golden():
    x, wg, wu, out = _args()
    mlp_in_gm(x, wg, wu, out)
    assert_bitwise(out, _golden(x, wg, wu))
