"""Cases of the DeepSeek-V4 decode layer (decode_layer.py): SWA, HCA and CSA layers, each with
manual and automatic scopes, a sequence start, T = 1, and the Flash configuration (by hand).

The golden is the stage goldens chained in the layer's order, each the numpy mirror of its kernel
(every stage's own case checks that mirror): hc_pre -> rmsnorm -> qkv_proj_rope -> KV writeback ->
compressor -> indexer -> sparse attention -> hc_post -> hc_pre -> MoE -> hc_post.

    python -m pto.cli run models/deepseek_v4/decode_layer_cases.py -k decode_csa_manual_small
    python -m pto.cli run models/deepseek_v4/decode_layer_cases.py -k decode_csa_auto_flash --scope-stats
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

from pto import testing as pt

from models.deepseek_v4 import compressor_cases as C
from models.deepseek_v4 import hc_post as HP
from models.deepseek_v4 import hc_pre as HR
from models.deepseek_v4 import indexer as IX
from models.deepseek_v4 import indexer_front_cases as IF
from models.deepseek_v4 import kv_cache as KV
from models.deepseek_v4 import moe_golden as MG
from models.deepseek_v4 import qkv_proj_rope as QKV
from models.deepseek_v4 import rmsnorm as RN
from models.deepseek_v4 import sparse_attn_golden as SA
from models.deepseek_v4.config import FLASH, SMALL, Config
from models.deepseek_v4.decode_layer import LAYER_TYPES, decode_layer, decode_layer_manual
from models.deepseek_v4.decode_layer_inputs import inputs
from models.deepseek_v4.decode_metadata import Step
from models.deepseek_v4.sparse_attn_shape import AttnShape

BF16 = ml_dtypes.bfloat16


def hc_pre(x_hc, prefix, inp, cfg):
    """(x_mixed, post, comb) of the pre-mix whose weights are `prefix`fn/scale/base."""
    T, D = x_hc.shape[0] // cfg.hc_mult, x_hc.shape[1]
    out = HR.golden(cfg, x_hc.reshape(T, cfg.hc_mult, D), inp[prefix + "fn"], inp[prefix + "scale"],
                    inp[prefix + "base"], np.empty((T, D), BF16), None, None)
    return out["x_mixed"], out["post"], out["comb"]


def project_qkv(x_mixed, inp, cfg):
    """(x_normed, q, kv, qr, qr_scale)."""
    x_normed = RN.golden(cfg.rms_eps, x_mixed, inp["attn_norm"], x_mixed)["y"]
    out = QKV.golden(x_normed, inp["wq_a"], inp["gamma_cq"], inp["wq_b"], inp["wq_b_scale"], inp["wkv"],
                     inp["gamma_ckv"], inp["rope_cos"], inp["rope_sin"], None, None, None, None, cfg)
    return x_normed, out["q"], out["kv"], out["qr"], out["qr_scale"]


def compress(x_normed, inp, ratio, cfg):
    """Updates cmp_kv, kv_state and score_state of `inp` in place."""
    C.golden(x_normed, inp["cmp_wkv"], inp["cmp_wgate"], inp["cmp_ape"], inp["ape_row"], inp["kv_state"],
             inp["score_state"], inp["state_slot"], inp["pool_base"], inp["cmp_slot"], inp["cmp_gamma"],
             inp["cmp_rope_cos"], inp["cmp_rope_sin"], inp["cmp_kv"], cfg, ratio)


def select_rows(x_normed, qr, qr_scale, inp, cfg):
    """CSA's cmp_idx [T, indexer_topk]; updates the indexer cache and its states in place."""
    q = IF.golden_q(qr, qr_scale, x_normed, inp["idx_wq_b"], inp["idx_wq_b_scale"], inp["weights_proj"],
                    inp["hadamard"], inp["rope_cos"], inp["rope_sin"], None, None, None, cfg)
    IF.golden_kv(x_normed, inp["idx_wkv"], inp["idx_wgate"], inp["idx_ape"], inp["ape_row"],
                       inp["idx_kv_state"], inp["idx_score_state"], inp["state_slot"], inp["pool_base"],
                       inp["cmp_slot"], inp["idx_gamma"], inp["cmp_rope_cos"], inp["cmp_rope_sin"],
                       inp["hadamard"], inp["idx_k"], inp["idx_k_scale"], cfg)
    scores = IX.golden_scores(q["q_i8"], q["q_scale"], q["head_w"], inp["idx_k"], inp["idx_k_scale"], inp["cmp_len"], cfg,
                              inp["cmp_base"])
    return IX.golden_topk(scores, cfg)


def attention(inp, layer_type, cfg):
    """x_attn [T * hc, D] FP32; the caches of `inp` updated in place."""
    T, hc, D = inp["x_hc"].shape
    ratio = LAYER_TYPES[layer_type]
    x_hc = inp["x_hc"].reshape(T * hc, D)
    x_mixed, post, comb = hc_pre(x_hc, "hc_attn_", inp, cfg)
    x_normed, q, kv, qr, qr_scale = project_qkv(x_mixed, inp, cfg)
    inp["kv_cache"][:] = KV.golden(kv, inp["ori_slot"], inp["kv_cache"])["kv_cache"]
    if ratio:
        compress(x_normed, inp, ratio, cfg)
    cmp_idx = inp.get("hca_idx")
    if layer_type == "csa":
        cmp_idx = select_rows(x_normed, qr, qr_scale, inp, cfg)
    attn_out = SA.golden(q, inp["kv_cache"], inp["win_idx"], inp["attn_sink"], inp["rope_cos"], inp["rope_sin"],
                         inp["wo_a"], inp["wo_b"], inp["wo_b_scale"], None, AttnShape(cfg, layer_type),
                         inp.get("cmp_kv"), cmp_idx)["out"]
    y = np.empty((T, hc, D), np.float32)
    return HP.golden(hc, attn_out, x_hc.reshape(T, hc, D), post, comb, y)["y"].reshape(T * hc, D)


def ffn(x_attn, inp, cfg, layer_id):
    T, hc, D = inp["x_hc"].shape
    x_mixed, post, comb = hc_pre(x_attn, "hc_ffn_", inp, cfg)
    ffn_out = MG.moe({**inp, "x": x_mixed, "gamma": inp["ffn_norm"]}, cfg, layer_id)
    y = np.empty((T, hc, D), np.float32)
    return HP.golden(hc, ffn_out, x_attn.reshape(T, hc, D), post, comb, y)["y"]


STATE = ("kv_cache", "cmp_kv", "kv_state", "score_state", "idx_k", "idx_k_scale", "idx_kv_state", "idx_score_state")


def golden(cfg, layer_type, layer_id, **inp):
    """x_next and every cache and state the layer updates."""
    x_attn = attention(inp, layer_type, cfg)
    out = {"x_next": ffn(x_attn, inp, cfg, layer_id)}
    out.update({k: inp[k] for k in STATE if k in inp})
    return out


def decode_cfg(cfg: Config, start: int) -> Config:
    """Caches sized for the step: two windows of original rows and every compressed position up to
    the step reaches per sequence (decode_metadata.py's layout; a sequence starts at most 255
    positions after `start`), rounded up to the indexer's 128-row score tiles."""
    seqs = cfg.tokens // (2 if cfg.tokens % 2 == 0 else 1)
    cmp_rows = seqs * ((start + 256) // 4 + 1)
    return cfg.with_(kv_history=seqs * 2 * cfg.window, cmp_history=-(-cmp_rows // 128) * 128)


def case(layer_type: str, scopes: str, cfg: Config, start: int, label: str, layer_id: int = 3,
         in_test_suite: bool = True, **step_kw) -> pt.Case:
    """Bitwise (atol = rtol = 0): every stage's golden mirrors its kernel bitwise (each stage's own
    case checks that), and the chain hands the exact values on."""
    cfg = decode_cfg(cfg, start)
    kernel = decode_layer_manual if scopes == "manual" else decode_layer
    return pt.Case(f"decode_{layer_type}_{scopes}_{label}", kernel, inputs(cfg, layer_type, Step(cfg, start, **step_kw)),
                   golden, atol=0.0, rtol=0.0, consts={"cfg": cfg, "layer_type": layer_type, "layer_id": layer_id},
                   in_test_suite=in_test_suite)


CASES = [case(t, s, SMALL, 130, "small") for t in LAYER_TYPES for s in ("manual", "auto")]
CASES += [case(t, "auto", SMALL, 0, "seq_start", offsets=(0,), spread=False) for t in LAYER_TYPES]
CASES += [case(t, "manual", SMALL.with_(tokens=1), 300, "t1") for t in LAYER_TYPES]
CASES += [case(t, s, FLASH, 2400, "flash", in_test_suite=False) for t in LAYER_TYPES for s in ("manual", "auto")]
