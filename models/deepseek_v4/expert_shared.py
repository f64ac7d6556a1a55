"""MoE shared expert: the W8A8 SwiGLU FFN (moe_ffn.py) of every token row, no routing weight.

Rows in M tiles: T <= M is one tile of T rows (decode: T = 8 of the Flash share), otherwise T is a
multiple of M (moe_common.sizes checks). Input: the gate's INT8 rows and per-row scales.

    python -m pto.cli run models/deepseek_v4/expert_shared.py -p a2a3sim
"""
from __future__ import annotations

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4 import moe_inputs as I
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.moe_common import sizes
from models.deepseek_v4.moe_ffn import swiglu_tile


@pl.jit.inline
def expert_shared(x_i8, x_scale, sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, sh, cfg):
    s = sizes(cfg)
    MT = min(s.T, s.M)
    for tile in pl.static_range(s.T // MT):
        swiglu_tile(x_i8, x_scale, sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, None, sh, tile * MT, 0, MT,
                    s, cfg)
    return sh


@pl.jit
def moe_expert_shared(x_i8, x_scale, sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, sh: pl.Out, cfg):
    expert_shared(x_i8, x_scale, sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, sh, cfg)


def golden(cfg, x_i8, x_scale, sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, **_):
    weights = (sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale)
    return {"sh": G.ffn_rows(x_i8, x_scale, weights, 0, None, cfg)}


def case(name, cfg):
    """Bitwise (atol = rtol = 0): exact INT32 products, then the same single-rounding FP32 steps
    in the same order as the golden (moe_ffn.py docstring)."""
    s = sizes(cfg)
    return pt.Case(name, moe_expert_shared,
                   {**I.token_rows(cfg), **I.shared_weights(cfg), "sh": I.marker((s.T, s.D), pl.BF16)},
                   golden, consts={"cfg": cfg}, in_test_suite=I.in_suite(cfg))


CASES = [
    case("expert_shared_small", SMALL),
    case("expert_shared_small_t32", SMALL.with_(tokens=32)),
    case("expert_shared_flash", FLASH),
]
