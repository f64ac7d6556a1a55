"""Hyper-connection post-mix (pypto-lib.md §2.2, §2.6): after a block computed x [T, D] from the
mixed input, the HC residual stream [T, hc, D] becomes

    y[t, o, :] = post[t, o] * x[t, :] + sum over i = 0..hc-1 of comb[t, i * hc + o] * residual[t, i, :]

in FP32, the terms added left to right in that order (post from hc_pre's 2*sigmoid, comb its
Sinkhorn-normalized hc x hc mix, flattened row-major). One SPMD block per token row; columns in
chunks of `COLS` so a tile stays 2 KiB per row.

    python -m pto.cli run models/deepseek_v4/hc_post.py
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.config import FLASH, SMALL

COLS = 512


@pl.jit.inline
def hc_post(x, residual, post, comb, y, hc):
    """x [T, D] BF16; residual, y [T * hc, D] FP32 (row t * hc + i); post [T, hc]; comb [T, hc * hc]."""
    t_rows, d = x.shape
    cols = min(COLS, d)
    for t in pl.spmd(t_rows, name_hint="hc_post"):
        for c in pl.range(d // cols):
            c0 = c * cols
            xf = pl.cast(x[t:t + 1, c0:c0 + cols], pl.FP32)
            for o in pl.static_range(hc):
                acc = pl.row_expand_mul(xf, post[t:t + 1, o:o + 1])
                for i in pl.static_range(hc):
                    term = pl.row_expand_mul(residual[t * hc + i:t * hc + i + 1, c0:c0 + cols],
                                             comb[t:t + 1, i * hc + o:i * hc + o + 1])
                    acc = pl.add(acc, term)
                y[t * hc + o:t * hc + o + 1, c0:c0 + cols] = acc
    return y


@pl.jit
def hc_post_entry(x, residual, post, comb, y: pl.Out, hc):
    """residual and y as [T, hc, D]: whole-buffer reshapes to the kernel's [T * hc, D] rows."""
    t, _, d = residual.shape
    hc_post(x, pl.reshape(residual, [t * hc, d]), post, comb, pl.reshape(y, [t * hc, d]), hc)


def golden(hc, x, residual, post, comb, y):
    """The same FP32 steps in the same order (numpy float32 ops round once each, no FMA)."""
    xf = x.astype(np.float32)
    out = np.empty_like(y)
    for o in range(hc):
        acc = xf * post[:, o:o + 1]
        for i in range(hc):
            acc = acc + residual[:, i, :] * comb[:, i * hc + o:i * hc + o + 1]
        out[:, o, :] = acc
    return {"y": out}


def case(name, cfg, tokens=None):
    """Bitwise (atol = rtol = 0): every product and sum is one FP32 rounding, in the golden's order."""
    t, d, hc = tokens or cfg.tokens, cfg.hidden, cfg.hc_mult
    inputs = {"x": pt.normal((t, d), pl.BF16, seed=801),
              "residual": pt.normal((t, hc, d), pl.FP32, seed=802),
              "post": pt.uniform((t, hc), pl.FP32, 0.0, 2.0, seed=803),          # 2 * sigmoid(.)
              "comb": pt.uniform((t, hc * hc), pl.FP32, 0.0, 0.5, seed=804),     # a doubly stochastic mix
              "y": pt.zeros((t, hc, d), pl.FP32)}
    return pt.Case(name, hc_post_entry, inputs, golden, consts={"hc": hc})


CASES = [
    case("hc_post_small", SMALL),
    case("hc_post_t1", SMALL, tokens=1),
    case("hc_post_flash", FLASH),
]
