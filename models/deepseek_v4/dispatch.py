"""MoE dispatch on one chip: compact per-expert receive buffers, written by data-dependent scatter.

Local expert e owns rows [e * RM, (e + 1) * RM) (moe_common.py); its routes fill the first
recv_count[0, e] of them in route order (t-major, then k). Per row: the token's INT8 row, its
activation scale, the routing weight and the route id t * topk + k. The rest of each buffer is
cleared first (zeros, route -1), so an M tile that runs past an expert's last route reads zeros,
and the scale of row i is always the scale of activation row i (seeds/001: scale rows must follow
the same per-expert offsets as the activation rows). route_row[t, k] says where route (t, k) went
(-1 for a route to another chip's expert, which this chip skips); combine reads it. recv_route
may be None (the layer does not need it; it is the record a cross-chip combine would use).

Tasks: `dispatch_clear` (static writes), then `dispatch_scatter` (positions from route_layout, one
scatter per k for each buffer).

    python -m pto.cli run models/deepseek_v4/dispatch.py -p a2a3sim
"""
from __future__ import annotations

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4 import moe_inputs as I
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.moe_common import route_layout, sizes


@pl.jit.inline
def dispatch_clear(recv_x, recv_scale, recv_weight, recv_route, s):
    with pl.at(name_hint="dispatch_clear"):
        for e in pl.range(s.L):
            for c in pl.range(s.D // s.C):
                recv_x[e * s.RM:e * s.RM + s.RM, c * s.C:c * s.C + s.C] = pl.full([s.RM, s.C], dtype=pl.INT8,
                                                                                  value=0)
        recv_scale[:, :] = pl.full([s.rows, 1], dtype=pl.FP32, value=0.0)
        recv_weight[:, :] = pl.full([s.rows, 1], dtype=pl.FP32, value=0.0)
        if recv_route is not None:
            recv_route[:, :] = pl.full([s.rows, 1], dtype=pl.INT32, value=-1)
    return recv_x


@pl.jit.inline
def dispatch_scatter(x_i8, x_scale, indices, weights, recv_x, recv_scale, recv_weight, recv_route, recv_count,
                     route_row, s):
    with pl.at(name_hint="dispatch_scatter"):
        local, onehot, pos, counts = route_layout(indices, s)
        row = pl.add(pl.mul(local, s.RM), pl.cast(pos, pl.INT32))
        row = pl.where(pl.gt(pl.row_sum(onehot), 0.0), row, -1)
        row_tk = pl.reshape(row, [s.T, s.K])
        route_row[:, :] = row_tk
        recv_count[:, :] = pl.cast(counts, pl.INT32)
        token_ids = pl.mul(pl.arange([s.T, 1], dtype=pl.INT32), s.K)
        for k in pl.static_range(s.K):
            rk = row_tk[:, k:k + 1]
            pl.scatter(recv_scale, rk, x_scale[:, :], mode="skip")
            pl.scatter(recv_weight, rk, weights[:, k:k + 1], mode="skip")
            if recv_route is not None:
                pl.scatter(recv_route, rk, pl.add(token_ids, k), mode="skip")
            rows = pl.row_expand(pl.full([s.T, s.C], dtype=pl.INT32, value=0), rk)
            for c in pl.range(s.D // s.C):
                pl.scatter(recv_x[:, c * s.C:c * s.C + s.C], rows, x_i8[:, c * s.C:c * s.C + s.C], mode="skip")
    return recv_x


@pl.jit.inline
def dispatch(x_i8, x_scale, indices, weights, recv_x, recv_scale, recv_weight, recv_route, recv_count, route_row,
             cfg):
    s = sizes(cfg)
    dispatch_clear(recv_x, recv_scale, recv_weight, recv_route, s)
    return dispatch_scatter(x_i8, x_scale, indices, weights, recv_x, recv_scale, recv_weight, recv_route,
                            recv_count, route_row, s)


@pl.jit
def moe_dispatch(x_i8, x_scale, indices, weights, recv_x: pl.Out, recv_scale: pl.Out, recv_weight: pl.Out,
                 recv_route: pl.Out, recv_count: pl.Out, route_row: pl.Out, cfg):
    dispatch(x_i8, x_scale, indices, weights, recv_x, recv_scale, recv_weight, recv_route, recv_count, route_row,
             cfg)


def outputs(cfg):
    s = sizes(cfg)
    return {"recv_x": I.marker((s.rows, s.D), pl.INT8), "recv_scale": I.marker((s.rows, 1), pl.FP32),
            "recv_weight": I.marker((s.rows, 1), pl.FP32), "recv_route": I.marker((s.rows, 1), pl.INT32),
            "recv_count": I.marker((1, s.L), pl.INT32), "route_row": I.marker((s.T, s.K), pl.INT32)}


def golden(cfg, x_i8, x_scale, indices, weights, **_):
    return G.dispatch(x_i8, x_scale, indices, weights, cfg)


def case(name, cfg, indices=None):
    """Pure data movement: exact (atol = rtol = 0)."""
    routes = I.random_routes(cfg)
    if indices is not None:
        routes["indices"] = I.fixed(indices, pl.INT32)
    return pt.Case(name, moe_dispatch, {**I.token_rows(cfg), **routes, **outputs(cfg)}, golden,
                   consts={"cfg": cfg}, in_test_suite=I.in_suite(cfg))


CASES = [
    case("dispatch_small", SMALL),
    case("dispatch_small_ep2_rank1", SMALL.with_(ep_size=2, ep_rank=1)),
    case("dispatch_flash", FLASH),
]
