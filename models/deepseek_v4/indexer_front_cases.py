"""Cases and numpy golden of the indexer front (models/deepseek_v4/indexer_front.py): the query
path (indexer_q) and the key compressor (indexer_kv), small and Flash, plus a key step where every
slot is -1. The compressor's slot tables are compressor_cases.Mapping's (pairs of tokens of one
sequence, groups closing at the first, the second or neither token).

    python -m pto.cli run models/deepseek_v4/indexer_front_cases.py
"""
from dataclasses import dataclass

import ml_dtypes
import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import compressor_cases as C
from models.deepseek_v4.config import FLASH, SMALL, Config
from models.deepseek_v4.indexer_front import indexer_kv, indexer_q, weights_scale
from models.deepseek_v4.moe_golden import quant_scale, to_int8

F32 = np.float32
BF16 = ml_dtypes.bfloat16


@dataclass(frozen=True)
class Hadamard:
    """The [n, n] Sylvester Hadamard matrix of +-1 in BF16 (n a power of two); H @ H.T = n I."""

    n: int

    def make(self) -> np.ndarray:
        h = np.ones((1, 1))
        while h.shape[0] < self.n:
            h = np.block([[h, h], [h, -h]])
        return h.astype(BF16)


def rotate(rows_bf16, hadamard, ID):
    """FP32(rows @ H) * ID^-0.5, the kernel's matmul shape (exact +-1 products, FP32 sums)."""
    return (rows_bf16.astype(F32) @ hadamard.astype(F32)) * F32(ID ** -0.5)


def quantize(h, cfg):
    scale = quant_scale(np.abs(h).max(axis=1, keepdims=True), cfg.int8_amax_eps)
    return to_int8(h / scale), scale


def golden_q(qr, qr_scale, x, idx_wq_b, idx_wq_b_scale, weights_proj, hadamard, rope_cos, rope_sin, q_i8, q_scale,
             head_w, cfg):
    T, IH, ID, R = cfg.tokens, cfg.indexer_heads, cfg.indexer_dim, cfg.rope_dim
    nope = ID - R
    acc = (qr.astype(np.int64) @ idx_wq_b.astype(np.int64)).astype(F32)  # |acc| < 2**24: exact
    q = (acc * qr_scale) * idx_wq_b_scale
    out_q, out_s = np.zeros((T, IH, ID), np.int8), np.zeros((T, IH), F32)
    for h in range(IH):
        qh = q[:, h * ID:(h + 1) * ID]
        qb = np.concatenate([qh[:, :nope], C.rope_pairs(qh[:, nope:], rope_cos, rope_sin)], axis=1).astype(BF16)
        out_q[:, h], s = quantize(rotate(qb, hadamard, ID), cfg)
        out_s[:, h] = s[:, 0]
    w = C.project(x, weights_proj) * F32(weights_scale(cfg))
    return {"q_i8": out_q.reshape(T * IH, ID), "q_scale": out_s.reshape(T * IH, 1), "head_w": w}


def golden_kv(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos,
              rope_sin, hadamard, k_cache, k_scale, cfg):
    ID, ratio = cfg.indexer_dim, 4
    at_id = cfg.with_(head_dim=ID)
    kv = C.project(x, wkv)
    gate = C.project(x, wgate, ape[ape_row[:, 0]])
    for t in range(cfg.tokens):
        if state_slot[t, 0] >= 0:
            kv_state[state_slot[t, 0]], score_state[state_slot[t, 0]] = kv[t], gate[t]
        dst, base = cmp_slot[t, 0], pool_base[t, 0]
        if dst < 0:
            continue
        y = C.pool(kv_state, score_state, base, ratio, True, ID)
        row = C.norm_rope(y, gamma, rope_cos[t], rope_sin[t], at_id)
        hk = rotate(row, hadamard, ID).astype(BF16).astype(F32)
        k_cache[dst:dst + 1], k_scale[:, dst:dst + 1] = quantize(hk, cfg)
        kv_state[base:base + ratio] = kv_state[base + ratio:base + 2 * ratio].copy()
        score_state[base:base + ratio] = score_state[base + ratio:base + 2 * ratio].copy()
    return {"kv_state": kv_state, "score_state": score_state, "k_cache": k_cache, "k_scale": k_scale}


def q_case(name: str, cfg: Config, seed: int = 0, in_suite: bool = True) -> pt.Case:
    """Bitwise (atol = rtol = 0): the INT8 products are exact, every FP32 step rounds once in the
    golden's order on the kernel's shapes (the Hadamard matmul per head as [T, ID] @ [ID, ID])."""
    T, IH, ID, QL, D = cfg.tokens, cfg.indexer_heads, cfg.indexer_dim, cfg.q_lora, cfg.hidden
    R2 = cfg.rope_dim // 2
    # a dot of q_lora uniform INT8 pairs has std ~ 73**2 * sqrt(q_lora): ws keeps q of order 1
    ws = 1.0 / (73.0 ** 2 * QL ** 0.5 * 0.02)
    inputs = {
        "qr": pt.randint((T, QL), pl.INT8, -127, 128, seed=seed),
        "qr_scale": pt.uniform((T, 1), pl.FP32, 0.01, 0.03, seed=seed + 1),
        "idx_wq_b": pt.randint((QL, IH * ID), pl.INT8, -127, 128, seed=seed + 2),
        "idx_wq_b_scale": pt.uniform((1, IH * ID), pl.FP32, 0.5 * ws, 1.5 * ws, seed=seed + 3),
        "x": pt.normal((T, D), pl.BF16, seed=seed + 4),
        "weights_proj": pt.normal((D, IH), pl.BF16, seed=seed + 5, scale=D ** -0.5),
        "hadamard": Hadamard(ID),
        "rope_cos": pt.uniform((T, R2), pl.FP32, -1.0, 1.0, seed=seed + 6),
        "rope_sin": pt.uniform((T, R2), pl.FP32, -1.0, 1.0, seed=seed + 7),
        "q_i8": pt.zeros((T * IH, ID), pl.INT8),
        "q_scale": pt.zeros((T * IH, 1), pl.FP32),
        "head_w": pt.zeros((T, IH), pl.FP32),
    }
    return pt.Case(f"indexer_q_{name}", indexer_q, inputs, golden_q, consts={"cfg": cfg}, in_test_suite=in_suite)


def kv_case(name: str, cfg: Config, seed: int = 0, none: bool = False, in_suite: bool = True) -> pt.Case:
    """Bitwise (atol = rtol = 0): compressor_cases' golden steps at width ID, then the same
    rotation (one [1, ID] @ [ID, ID] matmul per closing token), BF16 rounding and quantization."""
    ID, T, D, R2 = cfg.indexer_dim, cfg.tokens, cfg.hidden, cfg.rope_dim // 2
    W, seqs = 2 * ID, (cfg.tokens + 1) // 2
    rows = seqs * C.CMP_ROWS_PER_SEQ
    inputs = {
        "x": pt.normal((T, D), pl.BF16, seed=seed),
        "wkv": pt.normal((D, W), pl.BF16, seed=seed + 1, scale=D ** -0.5),
        "wgate": pt.normal((D, W), pl.BF16, seed=seed + 2, scale=D ** -0.5),
        "ape": pt.normal((4, W), pl.FP32, seed=seed + 3, scale=0.1),
        "kv_state": pt.normal((seqs * 8, W), pl.FP32, seed=seed + 4),
        "score_state": pt.normal((seqs * 8, W), pl.FP32, seed=seed + 5),
        "gamma": pt.uniform((1, ID), pl.FP32, 0.5, 1.5, seed=seed + 6),
        "rope_cos": pt.uniform((T, R2), pl.FP32, -1.0, 1.0, seed=seed + 7),
        "rope_sin": pt.uniform((T, R2), pl.FP32, -1.0, 1.0, seed=seed + 8),
        "hadamard": Hadamard(ID),
        "k_cache": pt.zeros((rows, ID), pl.INT8),
        "k_scale": pt.zeros((1, rows), pl.FP32),
    }
    for what in ("ape_row", "state_slot", "pool_base", "cmp_slot"):
        inputs[what] = C.Mapping(what, cfg, 4, seed + 9, none)
    return pt.Case(f"indexer_kv_{name}", indexer_kv, inputs, golden_kv, consts={"cfg": cfg}, in_test_suite=in_suite)


CASES = [
    q_case("small", SMALL),
    q_case("t1", SMALL.with_(tokens=1), seed=10),
    q_case("flash", FLASH, seed=20),
    kv_case("small", SMALL),
    kv_case("t1", SMALL.with_(tokens=1), seed=10),
    kv_case("no_slots", SMALL, seed=20, none=True),
    kv_case("flash", FLASH, seed=30),
]
