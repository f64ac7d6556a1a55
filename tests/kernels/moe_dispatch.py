"""The dispatch options of seeds/000 besides the C0-C7 matrix (tests/kernels/moe_route_matrix.py),
each with the router produced inside the same @pl.jit program:

  * the ideal dispatch of the seed's "Background" loop, written directly: compact per-expert
    recv_x / recv_weights / route_mask and slot counters. Twice: the loop itself with
    data-dependent pl.assemble / pl.write offsets (`ideal_loop`), and vectorized with pl.scatter
    (`ideal_scatter`: slots from a triangular matmul + pl.gather, counters by scatter-add);
  * Approach A: scalar pl.write of the route tables at a data-dependent flat index inside one
    inline helper, read by the later expert / combine helpers;
  * Option 2: packed dispatch, the expert selecting its weights by each row's expert id.

Route tables, recv_x and slot counters match the numpy golden exactly (no arithmetic is involved);
x_norm, the expert outputs and ffn_out match bitwise too (atol = rtol = 0) because the golden repeats
the kernels' dtype steps on the same shapes (moe_lib/golden.py). Shapes as in moe_route_matrix.py:
the seed's (T=16, D=4096) and the odd set.
"""
import pto.language as pl

from moe_lib import ODD, SEED, expert_inputs, model_inputs, out
from moe_lib import golden as G
from moe_lib.dispatch import (combine_compact, create_dispatch_buffers, dispatch_loop, dispatch_scatter,
                              scalar_write_route_dispatch)
from moe_lib.packed import packed_combine, packed_dispatch, packed_expert
from moe_lib.stages import (combine, copy_route_snapshot, create_route_tensors, hc_pre, moe_expert,
                            router_compact, shared_expert)
from pto import testing as pt


@pl.jit.inline
def run_router(x, hc_w, norm_w, gate_w, gate_b, s):
    """hc_pre -> router into internal tensors: (x_norm, indices, weights)."""
    x_mixed = hc_pre(x, hc_w, s)
    indices, weights = create_route_tensors(s)
    x_norm = pl.create_tensor([s.T, s.D], dtype=pl.BF16)
    return router_compact(x_mixed, norm_w, gate_w, gate_b, x_norm, indices, weights, s)


@pl.jit
def ideal_loop(x, hc_w, norm_w, gate_w, gate_b, recv_x: pl.Out, recv_weights: pl.Out, route_mask: pl.Out,
               slot: pl.Out, route_dst: pl.Out, s):
    x_norm, indices, weights = run_router(x, hc_w, norm_w, gate_w, gate_b, s)
    dispatch_loop(x_norm, indices, weights, recv_x, recv_weights, route_mask, slot, route_dst, s)


@pl.jit
def ideal_scatter(x, hc_w, norm_w, gate_w, gate_b, recv_x: pl.Out, recv_weights: pl.Out, route_mask: pl.Out,
                  slot: pl.Out, s):
    x_norm, indices, weights = run_router(x, hc_w, norm_w, gate_w, gate_b, s)
    dispatch_scatter(x_norm, indices, weights, recv_x, recv_weights, route_mask, slot, s)


@pl.jit
def ideal_full(x, hc_w, norm_w, gate_w, gate_b, w_up, w_down, ws_up, ws_down, ffn_out: pl.Out, s, vectorized):
    """Everything internal (like C7): dispatch -> expert over the compact slots -> combine by gather."""
    x_norm, indices, weights = run_router(x, hc_w, norm_w, gate_w, gate_b, s)
    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    slot = pl.create_tensor([1, s.E], dtype=pl.INT32)
    if vectorized:
        *_, route_dst = dispatch_scatter(x_norm, indices, weights, recv_x, recv_weights, route_mask, slot, s)
    else:
        route_dst = pl.create_tensor([s.R, 1], dtype=pl.INT32)
        dispatch_loop(x_norm, indices, weights, recv_x, recv_weights, route_mask, slot, route_dst, s)
    recv_y, sh = moe_expert(recv_x, recv_weights, x_norm, w_up, w_down, ws_up, ws_down, s)
    combine_compact(recv_y, route_dst, sh, ffn_out, s)
    return ffn_out


@pl.jit
def scalar_write_then_consume_case(x, hc_w, norm_w, gate_w, gate_b, w_up, w_down, ws_up, ws_down,
                                   recv_weights_out: pl.Out, route_mask_out: pl.Out, ffn_out: pl.Out, s):
    """Approach A as the seed writes it: the route-table writes happen in one inline helper, the
    snapshot, expert and combine that read them in later ones."""
    x_norm, indices, weights = run_router(x, hc_w, norm_w, gate_w, gate_b, s)
    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = scalar_write_route_dispatch(
        x_norm, indices, weights, recv_x, recv_weights, route_mask, s,
    )

    recv_weights_out, route_mask_out = copy_route_snapshot(recv_weights, route_mask, recv_weights_out,
                                                           route_mask_out, s)
    recv_y, sh = moe_expert(recv_x, recv_weights, x_norm, w_up, w_down, ws_up, ws_down, s)
    combine(recv_y, route_mask, sh, ffn_out, s)
    return recv_weights_out, route_mask_out, ffn_out


@pl.jit
def packed_case(x, hc_w, norm_w, gate_w, gate_b, w_up, w_down, ws_up, ws_down, recv_x: pl.Out,
                recv_expert_id: pl.Out, recv_weight: pl.Out, ffn_out: pl.Out, s):
    """Option 2: packed rows, the expert's weights chosen by a run-time read of the row's expert."""
    x_norm, indices, weights = run_router(x, hc_w, norm_w, gate_w, gate_b, s)
    packed_dispatch(x_norm, indices, weights, recv_x, recv_expert_id, recv_weight, s)
    recv_y = packed_expert(recv_x, recv_expert_id, recv_weight, w_up, w_down,
                           pl.create_tensor([s.R, s.D], dtype=pl.FP32), s)
    sh = shared_expert(x_norm, ws_up, ws_down, pl.create_tensor([s.T, s.D], dtype=pl.FP32), s)
    packed_combine(recv_y, sh, ffn_out, s)
    return ffn_out


# --- goldens -----------------------------------------------------------------------------------------
def golden_ideal(s, **inp):
    x_norm, idx, w = G.router(inp, s)
    recv_x, rw, rm, slot, dst = G.compact_dispatch(x_norm, idx, w, s)
    return {"recv_x": recv_x, "recv_weights": rw, "route_mask": rm, "slot": slot, "route_dst": dst}


def golden_ideal_scatter(s, **inp):
    expected = golden_ideal(s, **inp)
    del expected["route_dst"]
    return expected


def golden_ideal_full(s, vectorized, **inp):
    x_norm, idx, w = G.router(inp, s)
    recv_x, rw, _, _, dst = G.compact_dispatch(x_norm, idx, w, s)
    recv_y, sh = G.expert(recv_x, rw, x_norm, inp, s)
    return {"ffn_out": G.combine_compact(recv_y, dst, sh, s)}


def golden_approach_a(s, **inp):
    x_norm, idx, w = G.router(inp, s)
    rw, rm = G.fixed_slot_tables(idx, w, s)
    recv_y, sh = G.expert(G.broadcast_recv_x(x_norm, s), rw, x_norm, inp, s)
    return {"recv_weights_out": rw, "route_mask_out": rm, "ffn_out": G.combine(recv_y, rm, sh, s)}


def golden_packed(s, **inp):
    x_norm, idx, w = G.router(inp, s)
    recv_x, eid, rw, recv_y = G.packed(x_norm, idx, w, inp, s)
    sh = G.shared_expert(x_norm, inp, s)
    return {"recv_x": recv_x, "recv_expert_id": eid, "recv_weight": rw, "ffn_out": G.packed_combine(recv_y, sh, s)}


# --- cases -------------------------------------------------------------------------------------------
def _router_inputs(s):
    inp = model_inputs(s)
    return {k: v for k, v in inp.items() if k not in expert_inputs(s)}


def _compact_outs(s, with_dst=True):
    outs = {"recv_x": out((s.E * s.RM, s.D), pl.BF16), "recv_weights": out((s.E, s.RM), pl.FP32),
            "route_mask": out((s.E, s.RM), pl.FP32), "slot": out((1, s.E), pl.INT32)}
    return {**outs, "route_dst": out((s.R, 1), pl.INT32)} if with_dst else outs


CASES = []
for _s in (SEED, ODD):
    CASES += [
        pt.Case(f"ideal_loop_{_s.name}", ideal_loop, {**_router_inputs(_s), **_compact_outs(_s)}, golden_ideal,
                consts={"s": _s}),
        pt.Case(f"ideal_scatter_{_s.name}", ideal_scatter, {**_router_inputs(_s), **_compact_outs(_s, False)},
                golden_ideal_scatter, consts={"s": _s}),
        pt.Case(f"ideal_loop_full_{_s.name}", ideal_full, {**model_inputs(_s), "ffn_out": out((_s.T, _s.D), pl.FP32)},
                golden_ideal_full, consts={"s": _s, "vectorized": False}),
        pt.Case(f"ideal_scatter_full_{_s.name}", ideal_full,
                {**model_inputs(_s), "ffn_out": out((_s.T, _s.D), pl.FP32)},
                golden_ideal_full, consts={"s": _s, "vectorized": True}),
        pt.Case(f"approach_a_scalar_write_{_s.name}", scalar_write_then_consume_case,
                {**model_inputs(_s), "recv_weights_out": out((_s.E, _s.RM), pl.FP32),
                 "route_mask_out": out((_s.E, _s.RM), pl.FP32), "ffn_out": out((_s.T, _s.D), pl.FP32)},
                golden_approach_a, consts={"s": _s}),
        pt.Case(f"option2_packed_{_s.name}", packed_case,
                {**model_inputs(_s), "recv_x": out((_s.R, _s.D), pl.BF16), "recv_expert_id": out((_s.R, 1), pl.INT32),
                 "recv_weight": out((_s.R, 1), pl.FP32), "ffn_out": out((_s.T, _s.D), pl.FP32)},
                golden_packed, consts={"s": _s}),
    ]
