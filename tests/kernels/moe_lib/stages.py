"""The MoE stages the seed's cases share, as `@pl.jit.inline` helpers with the seed's names.

hc_pre -> router -> (dispatch, see dispatch.py) -> expert -> combine. Every [rows, D] tile is
processed in column chunks of `s.C`. Helpers that the seed calls with destination tensors write
them (a write through a parameter is a write to the caller's buffer, DESIGN.md §3) and return them.
"""
from __future__ import annotations

import pto.language as pl

from . import EPS


@pl.jit.inline
def hc_pre(x, hc_w, s):
    """Stand-in for hc_pre: x_mixed[t] = sum_h hc_w[t, h] * x[h*T + t] over HC residual streams."""
    x_mixed = pl.create_tensor([s.T, s.D], dtype=pl.FP32)
    with pl.at(name_hint="hc_pre"):
        for c in pl.range(s.D // s.C):
            d0 = c * s.C
            acc = pl.row_expand_mul(pl.cast(x[0:s.T, d0:d0 + s.C], pl.FP32), hc_w[:, 0:1])
            for h in pl.static_range(1, s.HC):
                stream = pl.cast(x[h * s.T:(h + 1) * s.T, d0:d0 + s.C], pl.FP32)
                acc = pl.add(acc, pl.row_expand_mul(stream, hc_w[:, h:h + 1]))
            x_mixed[:, d0:d0 + s.C] = acc
    return x_mixed


@pl.jit.inline
def rmsnorm(x_mixed, norm_w, x_norm, s):
    """x_norm = BF16(x * rsqrt(mean(x^2) + eps) * norm_w), the sum of squares over D chunks."""
    with pl.at(name_hint="rmsnorm"):
        ss = pl.full([s.T, 1], dtype=pl.FP32, value=0.0)
        for c in pl.range(s.D // s.C):
            xc = x_mixed[:, c * s.C:c * s.C + s.C]
            ss = pl.add(ss, pl.row_sum(pl.mul(xc, xc)))
        r = pl.rsqrt(pl.add(pl.mul(ss, 1.0 / s.D), EPS))
        for c in pl.range(s.D // s.C):  # a new name: reusing `xc` of the loop above trips a tracer bug
            x_chunk = x_mixed[:, c * s.C:c * s.C + s.C]
            y = pl.col_expand_mul(pl.row_expand_mul(x_chunk, r), norm_w[:, c * s.C:c * s.C + s.C])
            x_norm[:, c * s.C:c * s.C + s.C] = pl.cast(y, pl.BF16)
    return x_norm


def gate_topk(x_norm, gate_w, gate_bias, s):
    """sigmoid(x_norm @ gate_w) scores; top-k of scores + bias (the bias only selects); weights are
    the selected unbiased scores normalised to sum 1. Returns (INT32 indices, FP32 weights) tiles.
    A plain function, not an inline helper: split_mixed cannot yet split a mixed kernel whose body
    holds a pl.inline_call region (reported with the issue)."""
    logits = pl.full([s.T, s.E], dtype=pl.FP32, value=0.0)
    for c in pl.range(s.D // s.C):
        logits = pl.matmul_acc(logits, x_norm[:, c * s.C:c * s.C + s.C], gate_w[c * s.C:c * s.C + s.C, :])
    scores = pl.sigmoid(logits)
    _, idx = pl.topk(pl.col_expand_add(scores, gate_bias), s.TOPK)
    w = pl.gather(scores, idx, dim=1)
    return idx, pl.row_expand_div(w, pl.row_sum(w))


@pl.jit.inline
def router_padded(x_mixed, norm_w, gate_w, gate_bias, x_norm, *route, s):
    """The seed's router: writes x_norm and the route tensors it is given: (indices_pad,
    weights_pad), or (indices, weights, indices_pad, weights_pad). Padded tables are FP32 [T, PAD]:
    indices_pad[t, k] = expert id as FP32 (-1 in the padding), weights_pad 0 in the padding."""
    rmsnorm(x_mixed, norm_w, x_norm, s)
    with pl.at(name_hint="router"):
        idx, w = gate_topk(x_norm, gate_w, gate_bias, s)
        if len(route) == 4:
            route[0][:, :] = idx
            route[1][:, :] = w
        indices_pad, weights_pad = route[-2:]
        indices_pad[:, :] = pl.full([s.T, s.PAD], dtype=pl.FP32, value=-1.0)
        indices_pad[:, 0:s.TOPK] = pl.cast(idx, pl.FP32)
        weights_pad[:, :] = pl.full([s.T, s.PAD], dtype=pl.FP32, value=0.0)
        weights_pad[:, 0:s.TOPK] = w
    return (x_norm,) + route


@pl.jit.inline
def router_compact(x_mixed, norm_w, gate_w, gate_bias, x_norm, indices, weights, s):
    """The router with compact outputs only: indices INT32 [T, TOPK], weights FP32 [T, TOPK]."""
    rmsnorm(x_mixed, norm_w, x_norm, s)
    with pl.at(name_hint="router"):
        idx, w = gate_topk(x_norm, gate_w, gate_bias, s)
        indices[:, :] = idx
        weights[:, :] = w
    return x_norm, indices, weights


@pl.jit.inline
def create_route_tensors(s):
    return pl.create_tensor([s.T, s.TOPK], dtype=pl.INT32), pl.create_tensor([s.T, s.TOPK], dtype=pl.FP32)


@pl.jit.inline
def create_padded_route_tensors(s):
    return pl.create_tensor([s.T, s.PAD], dtype=pl.FP32), pl.create_tensor([s.T, s.PAD], dtype=pl.FP32)


@pl.jit.inline
def run_router_padded(x_mixed, norm_w, gate_w, gate_bias, s):
    """Router into internal tensors: returns (x_norm, indices_pad, weights_pad)."""
    indices_pad, weights_pad = create_padded_route_tensors(s)
    x_norm = pl.create_tensor([s.T, s.D], dtype=pl.BF16)
    return router_padded(x_mixed, norm_w, gate_w, gate_bias, x_norm, indices_pad, weights_pad, s=s)


@pl.jit.inline
def copy_rows(src, dst, s):
    """dst[:, :] = src[:, :] for 2-D tensors, in blocks of at most 64 KiB (UB holds 192 KiB)."""
    rows, cols = src.shape
    chunk = s.C if cols % s.C == 0 else cols
    block = rows
    while block * chunk * src.dtype.nbytes > 64 * 1024 and block % 2 == 0:
        block //= 2
    with pl.at(name_hint="copy"):
        for r in pl.range(rows // block):
            for c in pl.range(cols // chunk):
                tile = pl.read(src, [r * block, c * chunk], [block, chunk])
                dst[r * block:r * block + block, c * chunk:c * chunk + chunk] = tile
    return dst


@pl.jit.inline
def copy_x_norm(x_norm, x_norm_out, s):
    return copy_rows(x_norm, x_norm_out, s)


@pl.jit.inline
def copy_route_snapshot(recv_weights, route_mask, recv_weights_out, route_mask_out, s):
    """Observation copies of the two route tables (the seed's snapshot outputs)."""
    return copy_rows(recv_weights, recv_weights_out, s), copy_rows(route_mask, route_mask_out, s)


@pl.jit.inline
def materialize_route_buffers(recv_weights, route_mask, s):
    """C7: copies of the route tables into fresh internal tensors, consumed by expert/combine."""
    rw = pl.create_tensor([s.E, s.RM], dtype=pl.FP32)
    rm = pl.create_tensor([s.E, s.RM], dtype=pl.FP32)
    return copy_route_snapshot(recv_weights, route_mask, rw, rm, s)


@pl.jit.inline
def moe_expert(recv_x, recv_weights, x_norm, w_up, w_down, ws_up, ws_down, s, recv_y=None, sh=None):
    """The seed's moe_expert: routed experts over recv_x's slots and the shared expert; creates
    recv_y / sh unless given."""
    if recv_y is None:
        recv_y = pl.create_tensor([s.E * s.RM, s.D], dtype=pl.FP32)
    routed_experts(recv_x, recv_weights, w_up, w_down, recv_y, s)
    if sh is None:
        sh = pl.create_tensor([s.T, s.D], dtype=pl.FP32)
    shared_expert(x_norm, ws_up, ws_down, sh, s)
    return recv_y, sh


@pl.jit.inline
def routed_experts(recv_x, recv_weights, w_up, w_down, recv_y, s):
    """One SPMD block per expert e over its RM slots of recv_x [E*RM, D]:
    recv_y[slot] = recv_weights[e, slot] * (relu(x @ w_up[e]) as BF16 @ w_down[e])."""
    for e in pl.spmd(s.E, name_hint="routed_expert"):
        rows = e * s.RM
        h = pl.full([s.RM, s.F], dtype=pl.FP32, value=0.0)
        for c in pl.range(s.D // s.C):
            xs = recv_x[rows:rows + s.RM, c * s.C:c * s.C + s.C]
            h = pl.matmul_acc(h, xs, w_up[e * s.D + c * s.C:e * s.D + c * s.C + s.C, :])
        hb = pl.cast(pl.relu(h), pl.BF16)
        wcol = pl.reshape(recv_weights[e:e + 1, :], [s.RM, 1])
        for c in pl.range(s.D // s.C):
            y = pl.matmul(hb, w_down[e * s.F:e * s.F + s.F, c * s.C:c * s.C + s.C])
            recv_y[rows:rows + s.RM, c * s.C:c * s.C + s.C] = pl.row_expand_mul(y, wcol)
    return recv_y


@pl.jit.inline
def shared_expert(x_norm, ws_up, ws_down, sh, s):
    """sh = relu(x_norm @ ws_up) as BF16 @ ws_down."""
    with pl.at(name_hint="shared_expert"):
        h = pl.full([s.T, s.F], dtype=pl.FP32, value=0.0)
        for c in pl.range(s.D // s.C):
            h = pl.matmul_acc(h, x_norm[:, c * s.C:c * s.C + s.C], ws_up[c * s.C:c * s.C + s.C, :])
        hb = pl.cast(pl.relu(h), pl.BF16)
        for c in pl.range(s.D // s.C):
            sh[:, c * s.C:c * s.C + s.C] = pl.matmul(hb, ws_down[:, c * s.C:c * s.C + s.C])
    return sh


@pl.jit.inline
def combine(recv_y, route_mask, sh, ffn_out, s):
    """ffn_out[t] = sh[t] + sum_e sum_k route_mask[e, k*T+t] * recv_y[e*RM + k*T + t] (slot
    layout of Approaches A and B), accumulated in that order."""
    with pl.at(name_hint="combine"):
        for c in pl.range(s.D // s.C):
            d0 = c * s.C
            acc = pl.read(sh, [0, d0], [s.T, s.C])
            for e in pl.range(s.E):
                for k in pl.static_range(s.TOPK):
                    row = e * s.RM + k * s.T
                    m = pl.reshape(route_mask[e:e + 1, k * s.T:k * s.T + s.T], [s.T, 1])
                    acc = pl.add(acc, pl.row_expand_mul(recv_y[row:row + s.T, d0:d0 + s.C], m))
            ffn_out[:, d0:d0 + s.C] = acc
    return ffn_out


@pl.jit.inline
def fake_weighted_consumer(recv_x, recv_weights, route_mask, fake_out, s):
    """The seed's lightweight reader: fake_out[t] = sum_e sum_k x * w * m over t's slots."""
    with pl.at(name_hint="fake_consumer"):
        for c in pl.range(s.D // s.C):
            d0 = c * s.C
            acc = pl.full([s.T, s.C], dtype=pl.FP32, value=0.0)
            for e in pl.range(s.E):
                for k in pl.static_range(s.TOPK):
                    row = e * s.RM + k * s.T
                    x_blk = pl.cast(recv_x[row:row + s.T, d0:d0 + s.C], pl.FP32)
                    w = pl.reshape(recv_weights[e:e + 1, k * s.T:k * s.T + s.T], [s.T, 1])
                    m = pl.reshape(route_mask[e:e + 1, k * s.T:k * s.T + s.T], [s.T, 1])
                    acc = pl.add(acc, pl.row_expand_mul(pl.row_expand_mul(x_blk, w), m))
            fake_out[:, d0:d0 + s.C] = acc
    return fake_out
