"""Hyper-connection pre-mix (pypto-lib.md §2.2 `hc_pre.py`, §2.6), the counterpart of hc_post.py:
the HC residual stream x_hc (hc copies of each token's hidden row) becomes the block input x_mixed
plus the post / comb weights hc_post applies after the block. Per token t, with x_flat = its hc rows
flattened (hc * D) and mix = (2 + hc) * hc:

    inv_rms = rsqrt(mean(x_flat^2) + rms_eps)
    mixes   = (x_flat @ hc_fn^T) * inv_rms                        [mix]
    pre     = sigmoid(mixes[0:hc] * scale[0] + base[0:hc]) + hc_eps
    post    = 2 * sigmoid(mixes[hc:2hc] * scale[1] + base[hc:2hc])
    comb    = (mixes[2hc:] * scale[2] + base[2hc:]) as [hc, hc] (row i, column o), softmax over o,
              + hc_eps, divided by its column sums + hc_eps; then (sinkhorn_iters - 1) times: divided
              by its row sums + hc_eps, then by its column sums + hc_eps. Stored row-major.
    x_mixed = BF16(sum over i of pre[i] * x_hc[t * hc + i]), the terms added left to right.

Two tasks: `hc_pre_mix` computes x_flat @ hc_fn^T split over K into up to `SPLITS` blocks (each a
K-tiled FP32 matmul_acc chain); `hc_pre` has one block per token: the squared sum in column chunks
of `COLS`, the split partials added in ascending order, the gates, Sinkhorn, and the mix.

    python -m pto.cli run models/deepseek_v4/hc_pre.py
"""
from __future__ import annotations

import math

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.config import FLASH, SMALL

COLS = 512     # FP32 column chunk of the vector work: a [1, 512] tile is 2 KiB
K_TILE = 512   # matmul K chunk: [24, 512] FP32 of hc_fn is 48 KiB of L0B
SPLITS = 4     # split-K blocks of the mixes matmul (Flash: 32 chunks of K, 8 per block)


def split_count(k_all: int) -> int:
    """Split-K blocks: at most SPLITS, each the same whole number of K chunks."""
    return math.gcd(SPLITS, k_all // min(K_TILE, k_all))


@pl.jit.inline
def mix_partials(x_flat, hc_fn, partials, splits):
    """partials [splits * T, mix] FP32: rows s * T .. s * T + T hold split s's x_flat @ hc_fn^T."""
    t_rows, k_all = x_flat.shape
    mix = hc_fn.shape[0]
    k = min(K_TILE, k_all)
    per = k_all // k // splits
    assert per * splits * k == k_all, f"{splits} splits of {k}-wide chunks do not tile K = {k_all}"
    for s in pl.spmd(splits, name_hint="hc_pre_mix"):
        k0 = s * per * k
        acc = pl.matmul(x_flat[0:t_rows, k0:k0 + k], hc_fn[0:mix, k0:k0 + k], b_trans=True, out_dtype=pl.FP32)
        for kb in pl.range(1, per):
            kk = k0 + kb * k
            acc = pl.matmul_acc(acc, x_flat[0:t_rows, kk:kk + k], hc_fn[0:mix, kk:kk + k], b_trans=True)
        partials[s * t_rows:(s + 1) * t_rows, 0:mix] = acc


@pl.jit.inline
def token_mixes(x_flat, partials, t, splits, eps):
    """[1, mix] FP32: token t's summed partials times its inv_rms over the hc * D flat row."""
    t_rows, k_all = x_flat.shape
    mix = partials.shape[1]
    cols = min(COLS, k_all)
    sq = pl.full([1, 1], dtype=pl.FP32, value=0.0)
    for c in pl.range(k_all // cols):
        xf = x_flat[t:t + 1, c * cols:(c + 1) * cols]
        sq = pl.add(sq, pl.row_sum(pl.mul(xf, xf)))
    inv = pl.rsqrt(pl.add(pl.mul(sq, 1.0 / k_all), eps))
    raw = partials[t:t + 1, 0:mix]
    for s in pl.static_range(1, splits):
        raw = pl.add(raw, partials[s * t_rows + t:s * t_rows + t + 1, 0:mix])
    return pl.row_expand_mul(raw, inv)


@pl.jit.inline
def gate(mixes, hc_scale, hc_base, g, n, hc):
    """[1, n] FP32 logits of group g: mixes[g * hc : g * hc + n] * scale[g] + base[same]."""
    lo = g * hc
    return pl.add(pl.row_expand_mul(mixes[0:1, lo:lo + n], hc_scale[0:1, g:g + 1]), hc_base[0:1, lo:lo + n])


@pl.jit.inline
def sinkhorn(logits, hc, iters, eps):
    """[hc, hc] FP32: softmax over each row + eps, a column normalisation, then (iters - 1) rounds
    of row then column normalisation, every sum + eps (the reference's order: columns last)."""
    e = pl.exp(pl.row_expand_sub(logits, pl.row_max(logits)))
    m = pl.add(pl.row_expand_div(e, pl.row_sum(e)), eps)
    m = pl.col_expand_div(m, pl.add(pl.col_sum(m), eps))
    for _ in pl.range(iters - 1):
        m = pl.row_expand_div(m, pl.add(pl.row_sum(m), eps))
        m = pl.col_expand_div(m, pl.add(pl.col_sum(m), eps))
    return m


@pl.jit.inline
def hc_pre(x_hc, hc_fn, hc_scale, hc_base, x_mixed, post, comb, cfg):
    """x_hc [T * hc, D] FP32 (token t: rows t * hc ..); hc_fn [mix, hc * D]; hc_scale [1, 3];
    hc_base [1, mix]; x_mixed [T, D] BF16; post [T, hc]; comb [T, hc * hc] (comb[t, i * hc + o])."""
    hc, d = cfg.hc_mult, x_hc.shape[1]
    t_rows, mix = x_hc.shape[0] // hc, hc_fn.shape[0]
    x_flat = pl.reshape(x_hc, [t_rows, hc * d])
    splits = split_count(hc * d)
    partials = pl.create_tensor([splits * t_rows, mix], dtype=pl.FP32)
    mix_partials(x_flat, hc_fn, partials, splits)
    cols = min(COLS, d)
    for t in pl.spmd(t_rows, name_hint="hc_pre"):
        mixes = token_mixes(x_flat, partials, t, splits, cfg.rms_eps)
        pre = pl.add(pl.sigmoid(gate(mixes, hc_scale, hc_base, 0, hc, hc)), cfg.hc_eps)
        post[t:t + 1, 0:hc] = pl.mul(pl.sigmoid(gate(mixes, hc_scale, hc_base, 1, hc, hc)), 2.0)
        logits = pl.reshape(gate(mixes, hc_scale, hc_base, 2, hc * hc, hc), [hc, hc])
        comb[t:t + 1, 0:hc * hc] = pl.reshape(sinkhorn(logits, hc, cfg.sinkhorn_iters, cfg.hc_eps), [1, hc * hc])
        for c in pl.range(d // cols):
            c0 = c * cols
            acc = pl.row_expand_mul(x_hc[t * hc:t * hc + 1, c0:c0 + cols], pre[0:1, 0:1])
            for i in pl.static_range(1, hc):
                acc = pl.add(acc, pl.row_expand_mul(x_hc[t * hc + i:t * hc + i + 1, c0:c0 + cols], pre[0:1, i:i + 1]))
            x_mixed[t:t + 1, c0:c0 + cols] = pl.cast(acc, pl.BF16, mode="rint")
    return x_mixed


@pl.jit
def hc_pre_entry(x_hc, hc_fn, hc_scale, hc_base, x_mixed: pl.Out, post: pl.Out, comb: pl.Out, cfg):
    """x_hc as [T, hc, D]: a whole-buffer reshape to the kernel's [T * hc, D] rows."""
    t, hc, d = x_hc.shape
    hc_pre(pl.reshape(x_hc, [t * hc, d]), hc_fn, hc_scale, hc_base, x_mixed, post, comb, cfg)


F32 = np.float32


def _mixes(cfg, x_flat, hc_fn):
    """[T, mix]: the split-K matmul partials added in ascending order, times inv_rms."""
    t_rows, k_all = x_flat.shape
    k = min(K_TILE, k_all)
    splits = split_count(k_all)
    per = k_all // k // splits
    raw = None
    for s in range(splits):
        acc = None
        for kb in range(per):
            k0 = (s * per + kb) * k
            prod = np.ascontiguousarray(x_flat[:, k0:k0 + k]) @ np.ascontiguousarray(hc_fn[:, k0:k0 + k]).T
            acc = prod if acc is None else acc + prod
        raw = acc if raw is None else raw + acc
    cols = min(COLS, k_all)
    sq = np.zeros((t_rows, 1), F32)
    for c in range(k_all // cols):
        chunk = x_flat[:, c * cols:(c + 1) * cols]
        sq = sq + (chunk * chunk).sum(axis=1, keepdims=True, dtype=F32)
    inv = (1.0 / np.sqrt((sq * F32(1.0 / k_all) + F32(cfg.rms_eps)).astype(np.float64))).astype(F32)
    return raw * inv


def _sigmoid(x):
    """The interpreter's sigmoid: FP64, one rounding to FP32."""
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(F32)


def _sinkhorn(logits, cfg):
    """[T, hc, hc] FP32, the kernel's steps; numpy's sums over 4 lanes add left to right."""
    eps = F32(cfg.hc_eps)
    e = np.exp((logits - logits.max(axis=2, keepdims=True)).astype(np.float64)).astype(F32)
    m = e / e.sum(axis=2, keepdims=True, dtype=F32) + eps
    m = m / (m.sum(axis=1, keepdims=True, dtype=F32) + eps)
    for _ in range(cfg.sinkhorn_iters - 1):
        m = m / (m.sum(axis=2, keepdims=True, dtype=F32) + eps)
        m = m / (m.sum(axis=1, keepdims=True, dtype=F32) + eps)
    return m


def golden(cfg, x_hc, hc_fn, hc_scale, hc_base, x_mixed, post, comb):
    """The kernel's FP32 steps in its order (numpy float32 ops round once each, no FMA)."""
    t_rows, hc, d = x_hc.shape
    mixes = _mixes(cfg, x_hc.reshape(t_rows, hc * d), hc_fn)

    def gate_logits(g, n):
        return mixes[:, g * hc:g * hc + n] * hc_scale[:, g:g + 1] + hc_base[:, g * hc:g * hc + n]

    pre = _sigmoid(gate_logits(0, hc)) + F32(cfg.hc_eps)
    comb_m = _sinkhorn(gate_logits(2, hc * hc).reshape(t_rows, hc, hc), cfg)
    acc = x_hc[:, 0, :] * pre[:, 0:1]
    for i in range(1, hc):
        acc = acc + x_hc[:, i, :] * pre[:, i:i + 1]
    return {"x_mixed": acc.astype(x_mixed.dtype), "post": _sigmoid(gate_logits(1, hc)) * F32(2.0),
            "comb": comb_m.reshape(t_rows, hc * hc)}


def case(name, cfg, tokens=None):
    """Bitwise (atol = rtol = 0): every op is one FP32 rounding (transcendentals in FP64, rounded
    once, as the interpreter), the sums in the kernel's order."""
    t, d, hc = tokens or cfg.tokens, cfg.hidden, cfg.hc_mult
    mix = (2 + hc) * hc
    inputs = {"x_hc": pt.normal((t, hc, d), pl.FP32, seed=1101),
              "hc_fn": pt.normal((mix, hc * d), pl.FP32, seed=1102, scale=0.05),
              "hc_scale": pt.uniform((1, 3), pl.FP32, 0.02, 0.25, seed=1103),   # trained scales are small
              "hc_base": pt.uniform((1, mix), pl.FP32, -4.0, 4.0, seed=1104),
              "x_mixed": pt.zeros((t, d), pl.BF16),
              "post": pt.zeros((t, hc), pl.FP32),
              "comb": pt.zeros((t, hc * hc), pl.FP32)}
    return pt.Case(name, hc_pre_entry, inputs, golden, consts={"cfg": cfg})


CASES = [
    case("hc_pre_small", SMALL),
    case("hc_pre_t1", SMALL, tokens=1),
    case("hc_pre_flash", FLASH),
]
