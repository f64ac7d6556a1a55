"""MoE routed experts: per local expert, the W8A8 SwiGLU FFN (moe_ffn.py) of its received rows,
times each row's routing weight.

Expert e's rows are [e * RM, e * RM + recv_count[0, e]) of the receive buffers (dispatch.py). The
row count is data: the orchestration reads it and runs ceil(count / M) tiles of M rows, so an expert
with no rows does no work and its recv_y rows are never written. A tile that runs past the last row
computes on the cleared rows dispatch left there (zeros, scale 0, weight 0): its outputs are 0.

    python -m pto.cli run models/deepseek_v4/expert_routed.py -p a2a3sim
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4 import moe_inputs as I
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.moe_common import sizes
from models.deepseek_v4.moe_ffn import swiglu_tile


@pl.jit.inline
def expert_routed(recv_x, recv_scale, recv_weight, recv_count, w1, w1_scale, w3, w3_scale, w2, w2_scale, recv_y,
                  cfg):
    s = sizes(cfg)
    for e in pl.range(s.L):
        n = pl.cast(pl.read(recv_count, [0, e]), pl.INDEX)
        for tile in pl.range((n + (s.M - 1)) // s.M):
            r0 = e * s.RM + tile * s.M
            swiglu_tile(recv_x, recv_scale, w1, w1_scale, w3, w3_scale, w2, w2_scale, recv_weight, recv_y, r0, e,
                        s.M, s, cfg)
    return recv_y


@pl.jit
def moe_expert_routed(recv_x, recv_scale, recv_weight, recv_count, w1, w1_scale, w3, w3_scale, w2, w2_scale,
                      recv_y: pl.InOut, cfg):
    expert_routed(recv_x, recv_scale, recv_weight, recv_count, w1, w1_scale, w3, w3_scale, w2, w2_scale, recv_y,
                  cfg)


def golden(cfg, recv_x, recv_scale, recv_weight, recv_count, w1, w1_scale, w3, w3_scale, w2, w2_scale, recv_y):
    return {"recv_y": G.expert_routed(recv_x, recv_scale, recv_weight, recv_count,
                                      (w1, w1_scale, w3, w3_scale, w2, w2_scale), recv_y, cfg)}


def case(name, cfg, counts):
    """Received rows are random in every row (also past the counts: a tile running past its
    expert's last row must compute exactly what the golden's full tile does); recv_y starts as
    the -7 marker, which must survive in the rows of tiles never run. Bitwise (atol = rtol = 0),
    see moe_ffn.py."""
    s = sizes(cfg)
    inputs = {"recv_x": pt.randint((s.rows, s.D), pl.INT8, -127, 128, seed=600),
              "recv_scale": pt.uniform((s.rows, 1), pl.FP32, 0.005, 0.03, seed=601),
              "recv_weight": pt.uniform((s.rows, 1), pl.FP32, 0.1, 1.0, seed=602),
              "recv_count": I.fixed(np.array(counts).reshape(1, s.L), pl.INT32),
              **I.routed_weights(cfg), "recv_y": I.marker((s.rows, s.D), pl.BF16)}
    return pt.Case(name, moe_expert_routed, inputs, golden, consts={"cfg": cfg}, in_test_suite=I.in_suite(cfg))


_FLASH_COUNTS = [0] * 32
for _e, _n in ((0, 1), (5, 2), (13, 1), (21, 1), (31, 1)):  # six routes, a typical decode share
    _FLASH_COUNTS[_e] = _n

CASES = [
    case("expert_routed_small", SMALL, [3, 0, 16, 1, 0, 7, 2, 0]),
    # T = 32: experts of 2 tiles (17, 32 rows) and of 1 (5); empty first, middle and last
    case("expert_routed_small_t32", SMALL.with_(tokens=32), [0, 17, 32, 0, 5, 1, 9, 0]),
    case("expert_routed_flash", FLASH, _FLASH_COUNTS),
]
