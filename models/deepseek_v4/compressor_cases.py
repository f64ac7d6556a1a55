"""Cases and numpy golden of the compressors (models/deepseek_v4/compressor.py), ratio 4 (overlap)
and ratio 128, small and Flash, plus a step where every slot mapping is -1 and T = 1.

Slot mappings as a host would build them: the step's tokens come in pairs of one sequence (MTP:
previous + current, positions p, p + 1); sequence b owns state rows b * slots ..; a token at
position p writes state row base + (ratio if overlap) + p % ratio and, when p % ratio == ratio - 1,
compressed row b * 64 + p // ratio of the cache. Sequences alternate between a group closing at
their first token, at their second, and at neither.

    python -m pto.cli run models/deepseek_v4/compressor_cases.py
"""
from dataclasses import dataclass

import ml_dtypes
import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.compressor import PROJ_K, PROJ_N, compressor_ratio4, compressor_ratio128, pool_cols
from models.deepseek_v4.config import FLASH, SMALL, Config

F32 = np.float32
CMP_ROWS_PER_SEQ = 64


@dataclass(frozen=True)
class Mapping:
    """One of the [T, 1] INT32 slot tables of a step (see the module docstring)."""

    what: str          # "ape_row", "state_slot", "pool_base" or "cmp_slot"
    cfg: Config
    ratio: int
    seed: int
    none: bool = False  # every entry -1 (state and cache slots)

    def make(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        overlap, T = self.ratio == 4, self.cfg.tokens
        slots = 2 * self.ratio if overlap else self.ratio
        out = np.zeros((T, 1), np.int64)
        # sequence b: token 0 closes a group (b % 3 == 0), token 1 does (1), or neither does (2)
        groups = rng.integers(0, CMP_ROWS_PER_SEQ - 1, (T + 1) // 2)
        starts = [g * self.ratio + (self.ratio - 1, self.ratio - 2, 0)[b % 3] for b, g in enumerate(groups)]
        for t in range(T):
            b, p = t // 2, starts[t // 2] + t % 2
            out[t, 0] = {"ape_row": p % self.ratio,
                         "state_slot": b * slots + (self.ratio if overlap else 0) + p % self.ratio,
                         "pool_base": b * slots,
                         "cmp_slot": b * CMP_ROWS_PER_SEQ + p // self.ratio if p % self.ratio == self.ratio - 1 else -1,
                         }[self.what]
        if self.none and self.what in ("state_slot", "cmp_slot"):
            out[:] = -1
        return out.astype(np.int32)


def _bf16(x):
    return np.asarray(x, F32).astype(ml_dtypes.bfloat16)


def project(x, w, bias=None):
    T, D = x.shape
    W = w.shape[1]
    n, k = min(PROJ_N, W), min(PROJ_K, D)
    xf, wf = x.astype(F32), w.astype(F32)
    out = np.zeros((T, W), F32)
    for n0 in range(0, W, n):
        acc = xf[:, 0:k] @ wf[0:k, n0:n0 + n]
        for k0 in range(k, D, k):
            acc = acc + xf[:, k0:k0 + k] @ wf[k0:k0 + k, n0:n0 + n]
        out[:, n0:n0 + n] = acc if bias is None else acc + bias[:, n0:n0 + n]
    return out


def pool(kv_state, score_state, base, ratio, overlap, d):
    rows, cw = (2 * ratio if overlap else ratio), pool_cols(ratio, overlap, d)
    y = np.zeros((1, d), F32)
    for c0 in range(0, d, cw):
        if overlap:
            kv = np.concatenate([kv_state[base:base + ratio, c0:c0 + cw], kv_state[base + ratio:base + rows, d + c0:d + c0 + cw]])
            sc = np.concatenate([score_state[base:base + ratio, c0:c0 + cw],
                                 score_state[base + ratio:base + rows, d + c0:d + c0 + cw]])
        else:
            kv, sc = kv_state[base:base + rows, c0:c0 + cw], score_state[base:base + rows, c0:c0 + cw]
        e = np.exp((sc - sc.max(axis=0, keepdims=True)).astype(np.float64)).astype(F32)
        y[:, c0:c0 + cw] = (kv * e).sum(axis=0, keepdims=True, dtype=F32) / e.sum(axis=0, keepdims=True, dtype=F32)
    return y


def rsqrt(v):
    """The interpreter's rsqrt: evaluated in FP64, rounded once to FP32."""
    return (1.0 / np.sqrt(v.astype(np.float64))).astype(F32)


def rope_pairs(x, cos, sin):
    """Interleaved RoPE of x [rows, R] FP32: pair i = columns (2i, 2i + 1) rotated by cos/sin
    [rows, R / 2] (or [R / 2], one angle set for every row)."""
    out = x.copy()
    x0, x1 = x[:, 0::2], x[:, 1::2]
    out[:, 0::2], out[:, 1::2] = x0 * cos - x1 * sin, x0 * sin + x1 * cos
    return out


def norm_rope(y, gamma, cos, sin, cfg):
    """Rows of y [n, d] FP32: RMSNorm (times gamma unless None), RoPE on the last rope dims, BF16."""
    d, nope = y.shape[1], cfg.nope_dim
    ms = (y * y).sum(axis=1, keepdims=True, dtype=F32) * F32(1.0 / d)
    yn = y * rsqrt(ms + F32(cfg.rms_eps))
    yn = yn if gamma is None else yn * gamma
    yn[:, nope:] = rope_pairs(yn[:, nope:], cos, sin)
    return _bf16(yn)


def golden(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos,
           rope_sin, cmp_cache, cfg, ratio):
    overlap = ratio == 4
    kv = project(x, wkv)
    gate = project(x, wgate, ape[ape_row[:, 0]])
    for t in range(cfg.tokens):
        if state_slot[t, 0] >= 0:
            kv_state[state_slot[t, 0]], score_state[state_slot[t, 0]] = kv[t], gate[t]
        dst, base = cmp_slot[t, 0], pool_base[t, 0]
        if dst >= 0:
            y = pool(kv_state, score_state, base, ratio, overlap, cfg.head_dim)
            cmp_cache[dst] = norm_rope(y, gamma, rope_cos[t], rope_sin[t], cfg)[0]
            if overlap:
                kv_state[base:base + ratio] = kv_state[base + ratio:base + 2 * ratio].copy()
                score_state[base:base + ratio] = score_state[base + ratio:base + 2 * ratio].copy()
    return {"kv_state": kv_state, "score_state": score_state, "cmp_cache": cmp_cache}


def _golden4(**kw):
    return golden(**kw, ratio=4)


def _golden128(**kw):
    return golden(**kw, ratio=128)


def case(ratio: int, cfg: Config, label: str, seed: int = 0, none: bool = False) -> pt.Case:
    W = cfg.head_dim * (2 if ratio == 4 else 1)
    slots = 2 * ratio if ratio == 4 else ratio
    seqs = (cfg.tokens + 1) // 2
    T, D, R2 = cfg.tokens, cfg.hidden, cfg.rope_dim // 2
    inputs = {
        "x": pt.normal((T, D), pl.BF16, seed=seed),
        "wkv": pt.normal((D, W), pl.BF16, seed=seed + 1, scale=D ** -0.5),
        "wgate": pt.normal((D, W), pl.BF16, seed=seed + 2, scale=D ** -0.5),
        "ape": pt.normal((ratio, W), pl.FP32, seed=seed + 3, scale=0.1),
        "kv_state": pt.normal((seqs * slots, W), pl.FP32, seed=seed + 4),
        "score_state": pt.normal((seqs * slots, W), pl.FP32, seed=seed + 5),
        "gamma": pt.uniform((1, cfg.head_dim), pl.FP32, 0.5, 1.5, seed=seed + 6),
        "rope_cos": pt.uniform((T, R2), pl.FP32, -1.0, 1.0, seed=seed + 7),
        "rope_sin": pt.uniform((T, R2), pl.FP32, -1.0, 1.0, seed=seed + 8),
        "cmp_cache": pt.zeros((seqs * CMP_ROWS_PER_SEQ, cfg.head_dim), pl.BF16),
    }
    for what in ("ape_row", "state_slot", "pool_base", "cmp_slot"):
        inputs[what] = Mapping(what, cfg, ratio, seed + 9, none)
    kernel, gold = (compressor_ratio4, _golden4) if ratio == 4 else (compressor_ratio128, _golden128)
    # Bitwise: the golden repeats each FP32 step on the kernel's shapes (K-tiled projections,
    # per-column-chunk pooling); exp and rsqrt are FP64-evaluated then rounded in both.
    return pt.Case(f"compressor_ratio{ratio}_{label}", kernel, inputs, gold, consts={"cfg": cfg})


CASES = []
for _r in (4, 128):
    CASES += [case(_r, SMALL, "small"), case(_r, SMALL.with_(tokens=1), "t1", seed=10),
              case(_r, SMALL, "no_slots", seed=20, none=True), case(_r, FLASH, "flash", seed=30)]
