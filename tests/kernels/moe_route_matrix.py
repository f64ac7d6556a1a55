"""The failure matrix C0-C7 of seeds/000 (Approach B: broadcast + static-mask dispatch), each case
written as the seed writes it: hc_pre -> router inside the same @pl.jit program (C1-C7), route
buffers internal or exposed, a fake or the real consumer (moe_expert + combine).

On the reference stack C1-C5 and C7 computed wrong route buffers on the device. Here a program means
its sequential execution: the dispatch's fixed-offset writes are versions of the route buffers, and
every later reader (snapshot copy, expert, combine) reads after them, whether the buffer is a
top-level output or internal, returned by the helper or not. Every case is checked against the
numpy golden (tests/kernels/moe_lib/golden.py) bitwise: atol = rtol = 0, because the golden repeats
each dtype step of the kernels on the same shapes (see its docstring).

Shapes (moe_lib/__init__.py): the seed's (T=16, D=4096, TOPK=2, 8 local experts, RECV_MAX=T*TOPK=32)
for every case, and a set with no power of two (T=13, D=96, 6 experts, TOPK=3).
"""
import pto.language as pl
from pto import testing as pt

from moe_lib import ODD, SEED, expert_inputs, expert_table, model_inputs, out
from moe_lib import golden as G
from moe_lib.dispatch import (broadcast_static_mask_dispatch, create_dispatch_buffers, create_recv_x,
                              dispatch_return_route)
from moe_lib.stages import (combine, copy_route_snapshot, copy_rows, copy_x_norm, create_padded_route_tensors,
                            create_route_tensors, fake_weighted_consumer, hc_pre, materialize_route_buffers,
                            moe_expert, router_padded, run_router_padded)


@pl.jit
def case_synthetic_route_real_consumer(x_norm, indices, weights, w_up, w_down, ws_up, ws_down, expert_table,
                                       recv_weights_pre: pl.Out, route_mask_pre: pl.Out, recv_weights_post: pl.Out,
                                       route_mask_post: pl.Out, recv_y_out: pl.Out, sh_out: pl.Out,
                                       ffn_out: pl.Out, s):
    """C0: host-provided x_norm / indices / weights; real internal consumer."""
    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm, indices, weights, recv_x, recv_weights, route_mask, expert_table, s,
    )

    recv_weights_pre, route_mask_pre = copy_route_snapshot(recv_weights, route_mask, recv_weights_pre,
                                                           route_mask_pre, s)
    moe_expert(recv_x, recv_weights, x_norm, w_up, w_down, ws_up, ws_down, s, recv_y_out, sh_out)
    recv_weights_post, route_mask_post = copy_route_snapshot(recv_weights, route_mask, recv_weights_post,
                                                             route_mask_post, s)
    combine(recv_y_out, route_mask, sh_out, ffn_out, s)
    return recv_weights_pre, route_mask_pre, recv_weights_post, route_mask_post, recv_y_out, sh_out, ffn_out


@pl.jit
def case_router_fake_consumer_top_level_xnorm(x, hc_w, norm_w, gate_w, gate_b, expert_table, x_norm_out: pl.Out,
                                              recv_weights_pre: pl.Out, route_mask_pre: pl.Out, fake_out: pl.Out,
                                              recv_weights_post: pl.Out, route_mask_post: pl.Out, s):
    """C1: the router writes x_norm straight into the top-level output; fake consumer."""
    x_mixed = hc_pre(x, hc_w, s)
    indices_pad, weights_pad = create_padded_route_tensors(s)
    router_padded(x_mixed, norm_w, gate_w, gate_b, x_norm_out, indices_pad, weights_pad, s=s)

    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm_out, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s,
    )

    recv_weights_pre, route_mask_pre = copy_route_snapshot(recv_weights, route_mask, recv_weights_pre,
                                                           route_mask_pre, s)
    fake_weighted_consumer(recv_x, recv_weights, route_mask, fake_out, s)
    recv_weights_post, route_mask_post = copy_route_snapshot(recv_weights, route_mask, recv_weights_post,
                                                             route_mask_post, s)
    return x_norm_out, recv_weights_pre, route_mask_pre, fake_out, recv_weights_post, route_mask_post


@pl.jit
def case_router_fake_consumer_internal_xnorm(x, hc_w, norm_w, gate_w, gate_b, expert_table, x_norm_out: pl.Out,
                                             recv_weights_pre: pl.Out, route_mask_pre: pl.Out, fake_out: pl.Out,
                                             recv_weights_post: pl.Out, route_mask_post: pl.Out, s):
    """C2: as C1, but x_norm is internal and only copied out for observation."""
    x_mixed = hc_pre(x, hc_w, s)
    x_norm = pl.create_tensor([s.T, s.D], dtype=pl.BF16)
    indices_pad, weights_pad = create_padded_route_tensors(s)
    router_padded(x_mixed, norm_w, gate_w, gate_b, x_norm, indices_pad, weights_pad, s=s)
    copy_x_norm(x_norm, x_norm_out, s)

    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s,
    )

    recv_weights_pre, route_mask_pre = copy_route_snapshot(recv_weights, route_mask, recv_weights_pre,
                                                           route_mask_pre, s)
    fake_weighted_consumer(recv_x, recv_weights, route_mask, fake_out, s)
    recv_weights_post, route_mask_post = copy_route_snapshot(recv_weights, route_mask, recv_weights_post,
                                                             route_mask_post, s)
    return x_norm_out, recv_weights_pre, route_mask_pre, fake_out, recv_weights_post, route_mask_post


@pl.jit
def case_route_only_padded(x, hc_w, norm_w, gate_w, gate_b, expert_table, x_norm_out: pl.Out,
                           recv_weights_out: pl.Out, route_mask_out: pl.Out, s):
    """C3: the minimal failing path of the seed: router -> dispatch -> route snapshot."""
    x_mixed = hc_pre(x, hc_w, s)
    x_norm = pl.create_tensor([s.T, s.D], dtype=pl.BF16)
    indices_pad, weights_pad = create_padded_route_tensors(s)
    router_padded(x_mixed, norm_w, gate_w, gate_b, x_norm, indices_pad, weights_pad, s=s)
    copy_x_norm(x_norm, x_norm_out, s)

    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s,
    )
    recv_weights_out, route_mask_out = copy_route_snapshot(recv_weights, route_mask, recv_weights_out,
                                                           route_mask_out, s)
    return x_norm_out, recv_weights_out, route_mask_out


@pl.jit
def case_route_only_compact_touch(x, hc_w, norm_w, gate_w, gate_b, expert_table, x_norm_out: pl.Out,
                                  recv_weights_out: pl.Out, route_mask_out: pl.Out, s):
    """C4: dispatch reads the compact INT32 indices / weights; the router side "touches" them (a
    scalar read nobody uses, which the tracer drops: ordering never depended on it)."""
    x_mixed = hc_pre(x, hc_w, s)
    x_norm = pl.create_tensor([s.T, s.D], dtype=pl.BF16)
    indices, weights = create_route_tensors(s)
    indices_pad, weights_pad = create_padded_route_tensors(s)
    router_padded(x_mixed, norm_w, gate_w, gate_b, x_norm, indices, weights, indices_pad, weights_pad, s=s)
    copy_x_norm(x_norm, x_norm_out, s)
    touch = pl.read(indices, [0, 0]), pl.read(weights, [0, 0])  # noqa: F841 - the seed's touch-to-pin

    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm, indices, weights, recv_x, recv_weights, route_mask, expert_table, s,
    )
    return (x_norm_out,) + copy_route_snapshot(recv_weights, route_mask, recv_weights_out, route_mask_out, s)


@pl.jit
def case_route_only_padded_return(x, hc_w, norm_w, gate_w, gate_b, expert_table, x_norm_out: pl.Out,
                                  recv_weights_out: pl.Out, route_mask_out: pl.Out, s):
    """C5: as C3, the route buffers explicitly returned through dispatch_return_route."""
    x_mixed = hc_pre(x, hc_w, s)
    x_norm, indices_pad, weights_pad = run_router_padded(x_mixed, norm_w, gate_w, gate_b, s)
    copy_x_norm(x_norm, x_norm_out, s)
    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = dispatch_return_route(
        x_norm, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s,
    )
    return (x_norm_out,) + copy_route_snapshot(recv_weights, route_mask, recv_weights_out, route_mask_out, s)


@pl.jit
def case_full_stage_outputs(x, hc_w, norm_w, gate_w, gate_b, w_up, w_down, ws_up, ws_down, expert_table,
                            x_norm_out: pl.Out, recv_x_out: pl.Out, recv_weights_out: pl.Out,
                            route_mask_out: pl.Out, recv_y_out: pl.Out, sh_out: pl.Out, ffn_out: pl.Out, s):
    """C6: the full chain with the route buffers themselves top-level outputs."""
    x_mixed = hc_pre(x, hc_w, s)
    indices_pad, weights_pad = create_padded_route_tensors(s)
    router_padded(x_mixed, norm_w, gate_w, gate_b, x_norm_out, indices_pad, weights_pad, s=s)

    recv_x = create_recv_x(s)
    recv_x, recv_weights_out, route_mask_out = broadcast_static_mask_dispatch(
        x_norm_out, indices_pad, weights_pad, recv_x, recv_weights_out, route_mask_out, expert_table, s,
    )
    copy_rows(recv_x, recv_x_out, s)

    moe_expert(recv_x, recv_weights_out, x_norm_out, w_up, w_down, ws_up, ws_down, s, recv_y_out, sh_out)
    combine(recv_y_out, route_mask_out, sh_out, ffn_out, s)
    return ffn_out, x_norm_out, recv_x_out, recv_y_out, sh_out, recv_weights_out, route_mask_out


@pl.jit
def case_full_moe_internal_route(x, hc_w, norm_w, gate_w, gate_b, w_up, w_down, ws_up, ws_down, expert_table,
                                 ffn_out: pl.Out, s):
    """C7: the target path: everything internal, only ffn_out leaves the program."""
    x_mixed = hc_pre(x, hc_w, s)
    x_norm, indices_pad, weights_pad = run_router_padded(x_mixed, norm_w, gate_w, gate_b, s)

    recv_x, recv_weights, route_mask = create_dispatch_buffers(s)
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s,
    )

    recv_weights_use, route_mask_use = materialize_route_buffers(recv_weights, route_mask, s)
    recv_y, sh = moe_expert(recv_x, recv_weights_use, x_norm, w_up, w_down, ws_up, ws_down, s)
    combine(recv_y, route_mask_use, sh, ffn_out, s)
    return ffn_out


# --- goldens -----------------------------------------------------------------------------------------
def _route_tables(inp, s):
    x_norm, idx, w = G.router(inp, s)
    rw, rm = G.fixed_slot_tables(idx, w, s)
    return x_norm, rw, rm


def golden_c0(s, **inp):
    rw, rm = G.fixed_slot_tables(inp["indices"], inp["weights"], s)
    recv_y, sh = G.expert(G.broadcast_recv_x(inp["x_norm"], s), rw, inp["x_norm"], inp, s)
    return {"recv_weights_pre": rw, "route_mask_pre": rm, "recv_weights_post": rw, "route_mask_post": rm,
            "recv_y_out": recv_y, "sh_out": sh, "ffn_out": G.combine(recv_y, rm, sh, s)}


def golden_fake(s, **inp):
    x_norm, rw, rm = _route_tables(inp, s)
    fake = G.fake_consumer(G.broadcast_recv_x(x_norm, s), rw, rm, s)
    return {"x_norm_out": x_norm, "recv_weights_pre": rw, "route_mask_pre": rm, "fake_out": fake,
            "recv_weights_post": rw, "route_mask_post": rm}


def golden_route_only(s, **inp):
    x_norm, rw, rm = _route_tables(inp, s)
    return {"x_norm_out": x_norm, "recv_weights_out": rw, "route_mask_out": rm}


def golden_full(s, **inp):
    x_norm, rw, rm = _route_tables(inp, s)
    recv_x = G.broadcast_recv_x(x_norm, s)
    recv_y, sh = G.expert(recv_x, rw, x_norm, inp, s)
    return {"x_norm_out": x_norm, "recv_x_out": recv_x, "recv_weights_out": rw, "route_mask_out": rm,
            "recv_y_out": recv_y, "sh_out": sh, "ffn_out": G.combine(recv_y, rm, sh, s)}


def golden_c7(s, **inp):
    return {"ffn_out": golden_full(s, **inp)["ffn_out"]}


# --- cases -------------------------------------------------------------------------------------------
def _outs(s, names):
    shapes = {"x_norm_out": ((s.T, s.D), pl.BF16), "recv_x_out": ((s.E * s.RM, s.D), pl.BF16),
              "recv_y_out": ((s.E * s.RM, s.D), pl.FP32), "sh_out": ((s.T, s.D), pl.FP32),
              "ffn_out": ((s.T, s.D), pl.FP32), "fake_out": ((s.T, s.D), pl.FP32)}
    return {n: out(*shapes.get(n, ((s.E, s.RM), pl.FP32))) for n in names.split()}


def _model(s, with_experts):
    inp = model_inputs(s)
    if not with_experts:
        for k in expert_inputs(s):
            del inp[k]
    return {**inp, "expert_table": expert_table(s)}


def _synthetic(s):
    return {"x_norm": pt.normal((s.T, s.D), pl.BF16, seed=31),
            "indices": pt.randint((s.T, s.TOPK), pl.INT32, 0, s.E, seed=32),
            "weights": pt.uniform((s.T, s.TOPK), pl.FP32, 0.1, 1.0, seed=33),
            **expert_inputs(s), "expert_table": expert_table(s)}


SNAP = "recv_weights_pre route_mask_pre"
POST = "recv_weights_post route_mask_post"
ROUTE = "x_norm_out recv_weights_out route_mask_out"
CASES = []
for _s in (SEED, ODD):
    CASES += [
        pt.Case(f"C0_synthetic_route_real_consumer_{_s.name}", case_synthetic_route_real_consumer,
                {**_synthetic(_s), **_outs(_s, f"{SNAP} {POST} recv_y_out sh_out ffn_out")}, golden_c0, consts={"s": _s}),
        pt.Case(f"C1_router_fake_consumer_top_level_xnorm_{_s.name}", case_router_fake_consumer_top_level_xnorm,
                {**_model(_s, False), **_outs(_s, f"x_norm_out {SNAP} fake_out {POST}")}, golden_fake,
                consts={"s": _s}),
        pt.Case(f"C2_router_fake_consumer_internal_xnorm_{_s.name}", case_router_fake_consumer_internal_xnorm,
                {**_model(_s, False), **_outs(_s, f"x_norm_out {SNAP} fake_out {POST}")}, golden_fake,
                consts={"s": _s}),
        pt.Case(f"C3_route_only_padded_{_s.name}", case_route_only_padded,
                {**_model(_s, False), **_outs(_s, ROUTE)}, golden_route_only, consts={"s": _s}),
        pt.Case(f"C4_route_only_compact_touch_{_s.name}", case_route_only_compact_touch,
                {**_model(_s, False), **_outs(_s, ROUTE)}, golden_route_only, consts={"s": _s}),
        pt.Case(f"C5_route_only_padded_return_{_s.name}", case_route_only_padded_return,
                {**_model(_s, False), **_outs(_s, ROUTE)}, golden_route_only, consts={"s": _s}),
        pt.Case(f"C6_full_stage_outputs_{_s.name}", case_full_stage_outputs,
                {**_model(_s, True), **_outs(_s, f"{ROUTE} recv_x_out recv_y_out sh_out ffn_out")}, golden_full,
                consts={"s": _s}),
        pt.Case(f"C7_full_moe_internal_route_{_s.name}", case_full_moe_internal_route,
                {**_model(_s, True), **_outs(_s, "ffn_out")}, golden_c7, consts={"s": _s}),
    ]
