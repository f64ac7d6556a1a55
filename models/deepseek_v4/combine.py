"""MoE combine: ffn_out[t] = BF16(FP32(shared[t]) + sum over k = 0..topk-1 of FP32(routed row of
route (t, k))), accumulated in that fixed k order. route_row (dispatch.py) gives each route's row
of recv_y, -1 for a route to another chip's expert: the gather yields 0 there (this chip's share;
the other chips add theirs).

    python -m pto.cli run models/deepseek_v4/combine.py -p a2a3sim
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4 import moe_inputs as I
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.moe_common import sizes


@pl.jit.inline
def combine(sh, recv_y, route_row, ffn_out, cfg):
    s = sizes(cfg)
    with pl.at(name_hint="combine"):
        rows_tk = route_row[:, :]
        for c in pl.range(s.D // s.C):
            acc = pl.cast(sh[:, c * s.C:c * s.C + s.C], pl.FP32)
            for k in pl.static_range(s.K):
                rows = pl.row_expand(pl.full([s.T, s.C], dtype=pl.INT32, value=0), rows_tk[:, k:k + 1])
                routed = pl.gather(recv_y[:, c * s.C:c * s.C + s.C], rows, dim=0, mode="skip")
                acc = pl.add(acc, pl.cast(routed, pl.FP32))
            ffn_out[:, c * s.C:c * s.C + s.C] = pl.cast(acc, pl.BF16, mode="rint")
    return ffn_out


@pl.jit
def moe_combine(sh, recv_y, route_row, ffn_out: pl.Out, cfg):
    combine(sh, recv_y, route_row, ffn_out, cfg)


def golden(cfg, sh, recv_y, route_row, **_):
    return {"ffn_out": G.combine(sh, recv_y, route_row, cfg)}


class RouteRows(I.HashTable):
    """route_row [T, K]: distinct rows of recv_y per token, about a third of them -1 (off chip)."""

    def make(self) -> np.ndarray:
        rows = super().make()
        off = np.random.default_rng(self.seed + 1).random(rows.shape) < 0.3
        return np.where(off, -1, rows).astype(np.int32)


def case(name, cfg):
    """Bitwise (atol = rtol = 0): BF16 -> FP32 is exact and the k-ordered FP32 adds and the final
    BF16 rounding are the golden's."""
    s = sizes(cfg)
    inputs = {"sh": pt.normal((s.T, s.D), pl.BF16, seed=700), "recv_y": pt.normal((s.rows, s.D), pl.BF16, seed=701),
              "route_row": RouteRows((s.T, s.K), pl.INT32, "rows", seed=702, experts=s.rows),
              "ffn_out": I.marker((s.T, s.D), pl.BF16)}
    return pt.Case(name, moe_combine, inputs, golden, consts={"cfg": cfg}, in_test_suite=I.in_suite(cfg))


CASES = [case("combine_small", SMALL), case("combine_flash", FLASH)]
