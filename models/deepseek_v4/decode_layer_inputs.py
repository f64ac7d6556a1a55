"""Inputs of a decode-layer case (models/deepseek_v4/decode_layer.py): seeded weights at the scales
that keep every stage's values O(1), the caches with a history, and the step's tables
(decode_metadata.py). Every name here is a parameter of the layer (its `**w` or a cache).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe as M
from models.deepseek_v4.config import Config
from models.deepseek_v4.decode_metadata import Step, tables
from models.deepseek_v4.decode_layer import LAYER_TYPES
from models.deepseek_v4.indexer_front_cases import Hadamard
from models.deepseek_v4.sparse_attn_shape import AttnShape


@dataclass(frozen=True)
class StepTable:
    """One table of the step's metadata, as a case input."""

    step: Step
    ratio: int
    name: str

    def make(self) -> np.ndarray:
        return tables(self.step, self.ratio)[self.name]


def hc_weights(cfg: Config, prefix: str, seed: int) -> dict:
    """The HC projection at 1/sqrt(fan-in): x_flat is RMS-normalised, so the mixes are O(1)."""
    hc, mix = cfg.hc_mult, (2 + cfg.hc_mult) * cfg.hc_mult
    return {f"{prefix}fn": pt.normal((mix, hc * cfg.hidden), pl.FP32, seed=seed, scale=(hc * cfg.hidden) ** -0.5),
            f"{prefix}scale": pt.uniform((1, 3), pl.FP32, 0.5, 1.5, seed=seed + 1),
            f"{prefix}base": pt.normal((1, mix), pl.FP32, seed=seed + 2, scale=0.1)}


def qkv_weights(cfg: Config, seed: int) -> dict:
    D, Hd = cfg.hidden, cfg.heads * cfg.head_dim
    return {"attn_norm": pt.uniform((1, D), pl.BF16, 0.5, 1.5, seed=seed),
            "wq_a": pt.normal((D, cfg.q_lora), pl.BF16, seed=seed + 1, scale=D ** -0.5),
            "gamma_cq": pt.uniform((1, cfg.q_lora), pl.BF16, 0.5, 1.5, seed=seed + 2),
            "wq_b": pt.randint((cfg.q_lora, Hd), pl.INT8, -127, 128, seed=seed + 3),
            "wq_b_scale": pt.uniform((1, Hd), pl.FP32, 1e-4, 1e-3, seed=seed + 4),
            "wkv": pt.normal((D, cfg.head_dim), pl.BF16, seed=seed + 5, scale=D ** -0.5),
            "gamma_ckv": pt.uniform((1, cfg.head_dim), pl.BF16, 0.5, 1.5, seed=seed + 6)}


def o_proj_weights(cfg: Config, seed: int) -> dict:
    s = AttnShape(cfg, "swa")
    return {"attn_sink": pt.normal((cfg.heads,), pl.FP32, seed=seed),
            "wo_a": pt.normal((s.groups * s.group_in, cfg.o_lora), pl.BF16, seed=seed + 1, scale=s.group_in ** -0.5),
            "wo_b": pt.randint((s.groups * cfg.o_lora, cfg.hidden), pl.INT8, -127, 128, seed=seed + 2),
            "wo_b_scale": pt.uniform((1, cfg.hidden), pl.FP32, 1e-4, 1e-3, seed=seed + 3)}


def compressor_weights(cfg: Config, prefix: str, states: str, dim: int, ratio: int, seqs: int, seed: int) -> dict:
    """A compressor's projections (`prefix`wkv, ...) and its states (`states`kv_state and
    `states`score_state, the layer's InOut parameters); overlap doubles the width and the slots."""
    overlap = ratio == 4
    W, slots = dim * (2 if overlap else 1), ratio * (2 if overlap else 1)
    D = cfg.hidden
    return {f"{prefix}wkv": pt.normal((D, W), pl.BF16, seed=seed, scale=D ** -0.5),
            f"{prefix}wgate": pt.normal((D, W), pl.BF16, seed=seed + 1, scale=D ** -0.5),
            f"{prefix}ape": pt.normal((ratio, W), pl.FP32, seed=seed + 2, scale=0.1),
            f"{prefix}gamma": pt.uniform((1, dim), pl.FP32, 0.5, 1.5, seed=seed + 3),
            f"{states}kv_state": pt.normal((seqs * slots, W), pl.FP32, seed=seed + 4),
            f"{states}score_state": pt.normal((seqs * slots, W), pl.FP32, seed=seed + 5)}


def indexer_weights(cfg: Config, seed: int) -> dict:
    IH, ID = cfg.indexer_heads, cfg.indexer_dim
    return {"idx_wq_b": pt.randint((cfg.q_lora, IH * ID), pl.INT8, -127, 128, seed=seed),
            "idx_wq_b_scale": pt.uniform((1, IH * ID), pl.FP32, 1e-4, 1e-3, seed=seed + 1),
            "weights_proj": pt.normal((cfg.hidden, IH), pl.BF16, seed=seed + 2, scale=cfg.hidden ** -0.5),
            "hadamard": Hadamard(ID),
            "idx_k": pt.randint((cfg.cmp_history, ID), pl.INT8, -127, 128, seed=seed + 3),
            "idx_k_scale": pt.uniform((1, cfg.cmp_history), pl.FP32, 1e-3, 2e-3, seed=seed + 4)}


def moe_weights(cfg: Config) -> dict:
    """The MoE layer's inputs (moe.py) without its token rows and output; its norm is `ffn_norm`."""
    inp = M.inputs(cfg)
    inp["ffn_norm"] = inp.pop("gamma")
    del inp["x"], inp["ffn_out"]
    return inp


def inputs(cfg: Config, layer_type: str, step: Step) -> dict:
    ratio = LAYER_TYPES[layer_type]
    T, hc, D = cfg.tokens, cfg.hc_mult, cfg.hidden
    inp = {"x_hc": pt.normal((T, hc, D), pl.FP32, seed=1), "x_next": M.I.marker((T, hc, D), pl.FP32),
           "kv_cache": pt.normal((cfg.kv_history, cfg.head_dim), pl.BF16, seed=2),
           **hc_weights(cfg, "hc_attn_", 10), **qkv_weights(cfg, 20), **o_proj_weights(cfg, 30),
           **hc_weights(cfg, "hc_ffn_", 40), **moe_weights(cfg)}
    names = ["ori_slot", "win_idx", "rope_cos", "rope_sin"]
    if ratio:
        inp["cmp_kv"] = pt.normal((cfg.cmp_history, cfg.head_dim), pl.BF16, seed=3)
        inp.update(compressor_weights(cfg, "cmp_", "", cfg.head_dim, ratio, step.sequences, 50))
        names += ["ape_row", "state_slot", "pool_base", "cmp_slot", "cmp_rope_cos", "cmp_rope_sin"]
    if ratio == 128:
        names.append("hca_idx")
    if ratio == 4:
        inp.update(indexer_weights(cfg, 60))
        inp.update(compressor_weights(cfg, "idx_", "idx_", cfg.indexer_dim, ratio, step.sequences, 70))
        names += ["cmp_base", "cmp_len"]
    inp.update({n: StepTable(step, ratio, n) for n in names})
    return inp
