"""Numpy references of the MoE stages, repeating each dtype step of the kernels in their order.

The interpreter's numerics (pto/sim/numerics.py): FP32 elementwise arithmetic, transcendentals in
FP64 rounded once to FP32, row sums with numpy's pairwise order, matmul as FP32 `@` of the
operands, each matmul_acc step rounded to FP32, casts to BF16 round to nearest even. Doing the same
operations on the same shapes here makes every output bitwise equal (the cases use atol = rtol = 0).
Independent checks of the parts that matter for routing: top-k is computed with a lexsort, and
the dispatch tables are built by the seed's own loops, not from the kernels' formulas.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

from . import EPS

F32, F64, BF16 = np.float32, np.float64, ml_dtypes.bfloat16


def f32(x):
    return np.asarray(x, dtype=F32)


def chunks(s):
    return [np.s_[:, c * s.C:(c + 1) * s.C] for c in range(s.D // s.C)]


def hc_pre(x, hc_w, s):
    out = np.empty((s.T, s.D), F32)
    for cols in chunks(s):
        acc = x[0:s.T][cols].astype(F32) * hc_w[:, 0:1]
        for h in range(1, s.HC):
            acc = acc + x[h * s.T:(h + 1) * s.T][cols].astype(F32) * hc_w[:, h:h + 1]
        out[cols] = acc
    return out


def rmsnorm(x_mixed, norm_w, s):
    ss = np.zeros((s.T, 1), F32)
    for cols in chunks(s):
        xc = x_mixed[cols]
        ss = ss + np.sum(xc * xc, axis=-1, keepdims=True)
    r = f32(1.0 / np.sqrt((ss * F32(1.0 / s.D) + F32(EPS)).astype(F64)))
    out = np.empty((s.T, s.D), BF16)
    for cols in chunks(s):
        out[cols] = ((x_mixed[cols] * r) * norm_w[cols]).astype(BF16)
    return out


def topk_ref(x, k):
    """Descending, ties to the lower index: an independent lexsort per row."""
    idx = np.stack([np.lexsort((np.arange(len(row)), -row.astype(F64)))[:k] for row in x])
    return np.take_along_axis(x, idx, axis=1), idx.astype(np.int32)


def gate(x_norm, gate_w, gate_b, s):
    logits = np.zeros((s.T, s.E), F32)
    for c in range(s.D // s.C):
        a, b = x_norm[:, c * s.C:(c + 1) * s.C], gate_w[c * s.C:(c + 1) * s.C]
        logits = logits.astype(F32) + (a.astype(F32) @ b.astype(F32)).astype(F32)
    scores = f32(1.0 / (1.0 + np.exp(-logits.astype(F64))))
    _, idx = topk_ref(scores + gate_b, s.TOPK)
    w = np.take_along_axis(scores, idx.astype(np.int64), axis=1)
    return idx, w / np.sum(w, axis=-1, keepdims=True)


def router(inp, s):
    """(x_norm, indices, weights) from the model inputs."""
    x_norm = rmsnorm(hc_pre(inp["x"], inp["hc_w"], s), inp["norm_w"], s)
    idx, w = gate(x_norm, inp["gate_w"], inp["gate_b"], s)
    return x_norm, idx, w


def padded(idx, w, s):
    ip = np.full((s.T, s.PAD), -1.0, F32)
    wp = np.zeros((s.T, s.PAD), F32)
    ip[:, :s.TOPK], wp[:, :s.TOPK] = idx, w
    return ip, wp


def fixed_slot_tables(idx, w, s):
    """The seed's expected_weights / expected_mask (slot k*T + t of expert indices[t, k])."""
    weights = np.zeros((s.E, s.RM), F32)
    mask = np.zeros((s.E, s.RM), F32)
    for t in range(s.T):
        for k in range(s.TOPK):
            e, slot = int(idx[t, k]), k * s.T + t
            weights[e, slot] = w[t, k]
            mask[e, slot] = 1.0
    return weights, mask


def broadcast_recv_x(x_norm, s):
    return np.tile(x_norm, (s.E * s.TOPK, 1))


def compact_dispatch(x_norm, idx, w, s):
    """The seed's "Background" loop: (recv_x, recv_weights, route_mask, slot, route_dst)."""
    recv_x = np.zeros((s.E * s.RM, s.D), BF16)
    recv_w = np.zeros((s.E, s.RM), F32)
    mask = np.zeros((s.E, s.RM), F32)
    slot = np.zeros((1, s.E), np.int32)
    dst = np.zeros((s.R, 1), np.int32)
    for t in range(s.T):
        for k in range(s.TOPK):
            e = int(idx[t, k])
            p = slot[0, e]
            recv_x[e * s.RM + p] = x_norm[t]
            recv_w[e, p], mask[e, p] = w[t, k], 1.0
            dst[t * s.TOPK + k] = e * s.RM + p
            slot[0, e] += 1
    return recv_x, recv_w, mask, slot, dst


def expert(recv_x, recv_w, x_norm, inp, s):
    """(recv_y, sh) as moe_expert computes them."""
    recv_y = np.empty((s.E * s.RM, s.D), F32)
    for e in range(s.E):
        rows = np.s_[e * s.RM:(e + 1) * s.RM]
        h = np.zeros((s.RM, s.F), F32)
        for c in range(s.D // s.C):
            w_up = inp["w_up"][e * s.D + c * s.C:e * s.D + (c + 1) * s.C]
            h = h + (recv_x[rows, c * s.C:(c + 1) * s.C].astype(F32) @ w_up.astype(F32)).astype(F32)
        hb = np.maximum(h, 0).astype(BF16)
        for cols in chunks(s):
            y = hb.astype(F32) @ inp["w_down"][e * s.F:(e + 1) * s.F][cols].astype(F32)
            recv_y[rows][cols] = y * recv_w[e].reshape(s.RM, 1)
    return recv_y, shared_expert(x_norm, inp, s)


def shared_expert(x_norm, inp, s):
    h = np.zeros((s.T, s.F), F32)
    for c in range(s.D // s.C):
        h = h + (x_norm[:, c * s.C:(c + 1) * s.C].astype(F32)
                 @ inp["ws_up"][c * s.C:(c + 1) * s.C].astype(F32)).astype(F32)
    hb = np.maximum(h, 0).astype(BF16)
    return np.concatenate([hb.astype(F32) @ inp["ws_down"][cols].astype(F32) for cols in chunks(s)], axis=1)


def combine(recv_y, mask, sh, s):
    out = np.empty((s.T, s.D), F32)
    for cols in chunks(s):
        acc = sh[cols].copy()
        for e in range(s.E):
            for k in range(s.TOPK):
                row = e * s.RM + k * s.T
                m = mask[e, k * s.T:(k + 1) * s.T].reshape(s.T, 1)
                acc = acc + recv_y[row:row + s.T][cols] * m
        out[cols] = acc
    return out


def combine_compact(recv_y, dst, sh, s):
    out = sh.copy()
    dst_tk = dst.reshape(s.T, s.TOPK)
    for cols in chunks(s):
        acc = sh[cols].copy()
        for k in range(s.TOPK):
            acc = acc + recv_y[dst_tk[:, k]][cols]
        out[cols] = acc
    return out


def fake_consumer(recv_x, recv_w, mask, s):
    out = np.empty((s.T, s.D), F32)
    for cols in chunks(s):
        acc = np.zeros((s.T, s.C), F32)
        for e in range(s.E):
            for k in range(s.TOPK):
                row = e * s.RM + k * s.T
                sl = np.s_[k * s.T:(k + 1) * s.T]
                x = recv_x[row:row + s.T][cols].astype(F32)
                acc = acc + (x * recv_w[e, sl].reshape(s.T, 1)) * mask[e, sl].reshape(s.T, 1)
        out[cols] = acc
    return out


def packed(x_norm, idx, w, inp, s):
    """Option 2: (recv_x, recv_expert_id, recv_weight, recv_y), one row per (t, k)."""
    recv_x = np.repeat(x_norm, s.TOPK, axis=0)
    eid, rw = idx.reshape(s.R, 1).astype(np.int32), w.reshape(s.R, 1)
    recv_y = np.empty((s.R, s.D), F32)
    for r in range(s.R):
        e = int(eid[r, 0])
        h = np.zeros((1, s.F), F32)
        for c in range(s.D // s.C):
            w_up = inp["w_up"][e * s.D + c * s.C:e * s.D + (c + 1) * s.C]
            h = h + (recv_x[r:r + 1, c * s.C:(c + 1) * s.C].astype(F32) @ w_up.astype(F32)).astype(F32)
        hb = np.maximum(h, 0).astype(BF16)
        for cols in chunks(s):
            y = hb.astype(F32) @ inp["w_down"][e * s.F:(e + 1) * s.F][cols].astype(F32)
            recv_y[r:r + 1][cols] = y * rw[r, 0]
    return recv_x, eid, rw, recv_y


def packed_combine(recv_y, sh, s):
    y_tk = recv_y.reshape(s.T, s.TOPK * s.D)
    out = np.empty((s.T, s.D), F32)
    for c in range(s.D // s.C):
        acc = sh[:, c * s.C:(c + 1) * s.C].copy()
        for k in range(s.TOPK):
            acc = acc + y_tk[:, k * s.D + c * s.C:k * s.D + (c + 1) * s.C]
        out[:, c * s.C:(c + 1) * s.C] = acc
    return out
