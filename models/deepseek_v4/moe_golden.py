"""Numpy references of the MoE kernels, written independently of them.

They repeat the kernels' dtype steps (pto/sim/numerics.py: FP32 elementwise, transcendentals in
FP64 rounded once to FP32, row sums with numpy's pairwise order, FP32 matmuls as numpy `@`, INT8
matmuls exact, casts to INT8 / BF16 round to nearest even) on the same shapes in the same order, so
the kernels match them bitwise. The routing structure is computed the plain way: top-k by a
lexsort, route positions, alignment and dispatch by Python loops over the routes in order, the
combine by a loop over k, so a wrong formula in a kernel cannot hide in a shared helper.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

from models.deepseek_v4.moe_common import sizes

F32, F64, BF16 = np.float32, np.float64, ml_dtypes.bfloat16


def f64_op(fn, x):
    """A transcendental as the interpreter evaluates it: in FP64, rounded once to FP32."""
    with np.errstate(all="ignore"):
        return fn(np.asarray(x, F64)).astype(F32)


def to_int8(x):
    return np.clip(np.rint(np.asarray(x, F64)), -128, 127).astype(np.int8)


def quant_scale(amax, eps):
    """Per-row INT8 scale: max(amax, eps) / 127 (the caller takes q = rint(h / scale))."""
    scale = (np.maximum(amax, F32(eps)) / F32(127.0)).astype(F32)
    return scale


# --- gate ------------------------------------------------------------------------------------------
def gate(inp, cfg, layer_id):
    s = sizes(cfg)
    chunks = [np.s_[:, c:c + s.C] for c in range(0, s.D, s.C)]
    xf = inp["x"].astype(F32)
    ss = np.zeros((s.T, 1), F32)
    for cols in chunks:
        ss = ss + np.sum(xf[cols] * xf[cols], axis=1, keepdims=True, dtype=F32)
    inv = f64_op(lambda v: 1.0 / np.sqrt(v), ss * F32(1.0 / s.D) + F32(cfg.rms_eps))
    xn = (xf * inv) * inp["gamma"]
    amax = np.zeros((s.T, 1), F32)
    for cols in chunks:
        amax = np.maximum(amax, np.abs(xn[cols]).max(axis=1, keepdims=True))
    x_scale = quant_scale(amax, cfg.int8_amax_eps)
    x_i8 = to_int8(xn / x_scale)

    logits = np.zeros((s.T, s.E), F32)
    for e0 in range(0, s.E, s.GE):
        acc = np.zeros((s.T, s.GE), F32)
        for k0 in range(0, s.D, s.GK):
            acc = acc + xn[:, k0:k0 + s.GK] @ inp["gate_w"][e0:e0 + s.GE, k0:k0 + s.GK].T
        logits[:, e0:e0 + s.GE] = acc
    score = sqrt_softplus(logits)

    if layer_id < cfg.num_hash_layers:
        idx = inp["tid2eid"][inp["input_ids"][:, 0]].astype(np.int32)
    else:
        idx = topk_indices(score + inp["gate_bias"], s.K)
    w = np.take_along_axis(score, idx, axis=1)
    weights = (w / np.sum(w, axis=1, keepdims=True, dtype=F32)) * F32(cfg.routed_scaling)
    return {"x_norm": xn, "x_i8": x_i8, "x_scale": x_scale, "logits": logits, "score": score,
            "indices": idx, "weights": weights.astype(F32)}


def sqrt_softplus(logits):
    body = np.maximum(logits, F32(0)) + f64_op(np.log, f64_op(np.exp, -np.abs(logits)) + F32(1.0))
    tail = f64_op(np.exp, logits)
    return f64_op(np.sqrt, np.where(logits < F32(-8.0), tail, body))


def topk_indices(values, k):
    """Row-wise indices of the k largest values, descending, ties to the lower index."""
    cols = np.arange(values.shape[1])
    return np.stack([np.lexsort((cols, -row.astype(F64)))[:k] for row in values]).astype(np.int32)


# --- routing structure ---------------------------------------------------------------------------
def local_routes(indices, cfg):
    """[(route id, token, local expert)] of this chip's routes, in route order."""
    s = sizes(cfg)
    out = []
    for r, e in enumerate(np.asarray(indices).reshape(-1)):
        if s.first <= e < s.first + s.L:
            out.append((r, r // s.K, int(e) - s.first))
    return out


def moe_align(indices, cfg, P, NB):
    s = sizes(cfg)
    members = [[r for r, _, le in local_routes(indices, cfg) if le == e] for e in range(s.L)]
    sorted_ids = np.full((P, 1), s.R, np.int32)
    block_expert = np.full((NB, 1), -1, np.int32)
    offsets = np.zeros((1, s.L + 1), np.int32)
    cursor = 0
    for e, routes in enumerate(members):
        offsets[0, e] = cursor
        sorted_ids[cursor:cursor + len(routes), 0] = routes
        blocks = -(-len(routes) // s.M)
        block_expert[cursor // s.M:cursor // s.M + blocks, 0] = e
        cursor += blocks * s.M
    offsets[0, s.L] = cursor
    return {"sorted_ids": sorted_ids, "block_expert": block_expert,
            "tokens_post_pad": np.array([[cursor]], np.int32),
            "expert_counts": np.array([[len(m) for m in members]], np.int32),
            "expert_offsets": offsets, "expert_visits": np.ones((1, s.L), np.int32)}


def dispatch(x_i8, x_scale, indices, weights, cfg):
    s = sizes(cfg)
    out = {"recv_x": np.zeros((s.rows, s.D), np.int8), "recv_scale": np.zeros((s.rows, 1), F32),
           "recv_weight": np.zeros((s.rows, 1), F32), "recv_route": np.full((s.rows, 1), -1, np.int32),
           "recv_count": np.zeros((1, s.L), np.int32), "route_row": np.full((s.T, s.K), -1, np.int32)}
    for r, t, e in local_routes(indices, cfg):
        row = e * s.RM + out["recv_count"][0, e]
        out["recv_count"][0, e] += 1
        out["recv_x"][row] = x_i8[t]
        out["recv_scale"][row] = x_scale[t]
        out["recv_weight"][row] = weights[t, r % s.K]
        out["recv_route"][row] = r
        out["route_row"][t, r % s.K] = row
    return out


# --- experts ---------------------------------------------------------------------------------------
def ffn_rows(x_i8, x_scale, weights, e, route_w, cfg):
    """The W8A8 SwiGLU of rows x_i8 with expert e of the stacked weights (moe_ffn.py steps);
    route_w: None or the rows' routing weights [rows, 1]. Returns BF16 rows."""
    s = sizes(cfg)
    w1, w1s, w3, w3s, w2, w2s = weights
    x = x_i8.astype(F64)  # FP64 sums of INT8 products are exact integers (|sum| < 2**53)
    g = (x @ w1[e * s.D:(e + 1) * s.D].astype(F64)).astype(np.int32).astype(F32)
    u = (x @ w3[e * s.D:(e + 1) * s.D].astype(F64)).astype(np.int32).astype(F32)
    g = (g * x_scale) * w1s[e:e + 1]
    u = (u * x_scale) * w3s[e:e + 1]
    limit = F32(cfg.swiglu_limit)
    g = np.minimum(g, limit)
    u = np.maximum(np.minimum(u, limit), -limit)
    h = (g * f64_op(lambda v: 1.0 / (1.0 + np.exp(-v)), g)) * u
    h_scale = quant_scale(np.abs(h).max(axis=1, keepdims=True), cfg.int8_amax_eps)
    h_i8 = to_int8(h / h_scale)
    y = (h_i8.astype(F64) @ w2[e * s.F:(e + 1) * s.F].astype(F64)).astype(np.int32).astype(F32)
    y = (y * h_scale) * w2s[e:e + 1]
    if route_w is not None:
        y = y * route_w
    return y.astype(BF16)


def expert_routed(recv_x, recv_scale, recv_weight, recv_count, weights, recv_y, cfg):
    """recv_y with every M tile the kernel runs replaced by its FFN output: ceil(count / M) tiles
    of expert e from row e * RM (rows past the count in a run tile included)."""
    s = sizes(cfg)
    out = recv_y.copy()
    for e in range(s.L):
        for tile in range(-(-int(recv_count[0, e]) // s.M)):
            rows = slice(e * s.RM + tile * s.M, e * s.RM + (tile + 1) * s.M)
            out[rows] = ffn_rows(recv_x[rows], recv_scale[rows], weights, e, recv_weight[rows], cfg)
    return out


def combine(sh, recv_y, route_row, cfg):
    s = sizes(cfg)
    acc = sh.astype(F32)
    for k in range(s.K):
        routed = np.zeros((s.T, s.D), F32)
        for t in range(s.T):
            if route_row[t, k] >= 0:
                routed[t] = recv_y[route_row[t, k]].astype(F32)
        acc = acc + routed
    return acc.astype(BF16)


def moe(inp, cfg, layer_id):
    """The whole layer: the stage goldens chained."""
    g = gate(inp, cfg, layer_id)
    d = dispatch(g["x_i8"], g["x_scale"], g["indices"], g["weights"], cfg)
    routed = tuple(inp[k] for k in ("w1", "w1_scale", "w3", "w3_scale", "w2", "w2_scale"))
    shared = tuple(inp[k] for k in ("sw1", "sw1_scale", "sw3", "sw3_scale", "sw2", "sw2_scale"))
    s = sizes(cfg)
    recv_y = expert_routed(d["recv_x"], d["recv_scale"], d["recv_weight"], d["recv_count"], routed,
                           np.zeros((s.rows, s.D), BF16), cfg)
    MT = min(s.T, s.M)
    sh = np.concatenate([ffn_rows(g["x_i8"][r:r + MT], g["x_scale"][r:r + MT], shared, 0, None, cfg)
                         for r in range(0, s.T, MT)])
    return combine(sh, recv_y, d["route_row"], cfg)
