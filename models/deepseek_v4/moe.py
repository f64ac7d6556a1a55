"""The MoE layer of one chip, from the token rows to ffn_out, in one @pl.jit program:

    gate -> (x_i8, x_scale, indices, weights) -> dispatch -> expert_routed -> combine -> ffn_out
                                    \\-> expert_shared -> sh --------------------/

Every intermediate is a create_tensor the compiler places in the GM workspace (auto_scope). The
Flash case is one chip's share of DeepSeek-V4-Flash (hidden 4096, 256 experts over ep_size 8 =
32 local experts, top-6, moe_inter 2048, T = 8 decode rows): routes to the other chips' experts are
skipped here (they add their share on their chips).

    python -m pto.cli run models/deepseek_v4/moe.py -p a2a3sim -k flash --scope-stats
"""
from __future__ import annotations

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4 import moe_inputs as I
from models.deepseek_v4.combine import combine
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.dispatch import dispatch
from models.deepseek_v4.expert_routed import expert_routed
from models.deepseek_v4.expert_shared import expert_shared
from models.deepseek_v4.gate import gate
from models.deepseek_v4.moe_common import sizes


@pl.jit.inline
def moe(x, gamma, gate_w, gate_bias, tid2eid, input_ids, w1, w1_scale, w3, w3_scale, w2, w2_scale,
        sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, ffn_out, cfg, layer_id):
    s = sizes(cfg)
    x_i8 = pl.create_tensor([s.T, s.D], dtype=pl.INT8)
    x_scale = pl.create_tensor([s.T, 1], dtype=pl.FP32)
    indices = pl.create_tensor([s.T, s.K], dtype=pl.INT32)
    weights = pl.create_tensor([s.T, s.K], dtype=pl.FP32)
    gate(x, gamma, gate_w, gate_bias, tid2eid, input_ids, x_i8, x_scale, indices, weights, cfg, layer_id)

    sh = pl.create_tensor([s.T, s.D], dtype=pl.BF16)
    expert_shared(x_i8, x_scale, sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, sh, cfg)

    recv_x = pl.create_tensor([s.rows, s.D], dtype=pl.INT8)
    recv_scale = pl.create_tensor([s.rows, 1], dtype=pl.FP32)
    recv_weight = pl.create_tensor([s.rows, 1], dtype=pl.FP32)
    recv_count = pl.create_tensor([1, s.L], dtype=pl.INT32)
    route_row = pl.create_tensor([s.T, s.K], dtype=pl.INT32)
    dispatch(x_i8, x_scale, indices, weights, recv_x, recv_scale, recv_weight, None, recv_count, route_row, cfg)

    recv_y = pl.create_tensor([s.rows, s.D], dtype=pl.BF16)
    expert_routed(recv_x, recv_scale, recv_weight, recv_count, w1, w1_scale, w3, w3_scale, w2, w2_scale, recv_y,
                  cfg)
    return combine(sh, recv_y, route_row, ffn_out, cfg)


@pl.jit
def moe_layer(x, gamma, gate_w, gate_bias, tid2eid, input_ids, w1, w1_scale, w3, w3_scale, w2, w2_scale,
              sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, ffn_out: pl.Out, cfg, layer_id):
    moe(x, gamma, gate_w, gate_bias, tid2eid, input_ids, w1, w1_scale, w3, w3_scale, w2, w2_scale,
        sw1, sw1_scale, sw3, sw3_scale, sw2, sw2_scale, ffn_out, cfg, layer_id)


def golden(cfg, layer_id, **inp):
    """The stage goldens chained: gate -> dispatch -> routed experts -> shared expert -> combine."""
    return {"ffn_out": G.moe(inp, cfg, layer_id)}


def inputs(cfg, tid2eid=None, input_ids=None, **gate_kw):
    s = sizes(cfg)
    inp = {**I.gate_inputs(cfg, **gate_kw), **I.routed_weights(cfg), **I.shared_weights(cfg),
           "ffn_out": I.marker((s.T, s.D), pl.BF16)}
    if tid2eid is not None:
        inp["tid2eid"] = I.fixed(tid2eid, pl.INT32)
    if input_ids is not None:
        inp["input_ids"] = I.fixed(input_ids, pl.INT32)
    return inp


def case(name, cfg, layer_id=3, **kw):
    """Bitwise (atol = rtol = 0): every stage matches its golden bitwise (see each stage's case)
    and the chain passes exact values between them."""
    return pt.Case(name, moe_layer, inputs(cfg, **kw), golden, consts={"cfg": cfg, "layer_id": layer_id},
                   in_test_suite=I.in_suite(cfg))


CASES = [
    case("moe_small", SMALL),
    case("moe_small_hash", SMALL, layer_id=0),
    # rank 1 of 2: half the routes go to the other chip
    case("moe_small_ep2_rank1", SMALL.with_(experts=16, ep_size=2, ep_rank=1)),
    case("moe_flash", FLASH),
]
