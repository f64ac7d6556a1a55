"""Case inputs of the MoE kernels: seeded, sized so every stage sees O(1) values.

Scales: the normalized rows are O(1), so router weights of std s / sqrt(D) give logits of std s.
An INT8 weight column has std ~73 (uniform on [-127, 127]); a per-column scale of
u / (sqrt(K) * 73) with u in [0.5, 1.5] x `GATE_STD` makes the dequantized gate / up values of a
unit-variance row about N(0, GATE_STD) (some beyond the clamp at 10), and the down projection of
the O(GATE_STD**2) SwiGLU output about unit variance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.moe_common import sizes

GATE_STD = 3.0
INT8_STD = 73.3


@dataclass(frozen=True)
class Fixed(pt.Input):
    """An input with given contents (`values` is a nested tuple)."""

    values: tuple = ()

    def make(self) -> np.ndarray:
        return np.array(self.values).reshape(self.shape).astype(self.dtype.np)


def fixed(array, dtype) -> Fixed:
    a = np.asarray(array)
    return Fixed(a.shape, dtype, "fixed", values=tuple(a.reshape(-1).tolist()))


@dataclass(frozen=True)
class HashTable(pt.Input):
    """tid2eid [vocab, K]: each row K distinct expert ids, drawn at random."""

    experts: int = 0

    def make(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        rows = [rng.permutation(self.experts)[:self.shape[1]] for _ in range(self.shape[0])]
        return np.array(rows, dtype=np.int32)


@dataclass(frozen=True)
class Int8Weights(pt.Input):
    """Uniform INT8 in [-127, 127], drawn directly as int8 (the Flash experts hold 768 MiB)."""

    def make(self) -> np.ndarray:
        return np.random.default_rng(self.seed).integers(-127, 128, self.shape, dtype=np.int8)


def in_suite(cfg) -> bool:
    """Whether a case runs in the test suite: the small shapes do; the full-size Flash share
    (768 MiB of expert weights, ~20 s a run) runs with `python -m pto.cli run FILE -k flash`."""
    return cfg.hidden < 4096


def marker(shape, dtype) -> pt.Input:
    """An output buffer pre-filled with -7, a value no kernel writes (an unwritten element shows)."""
    return pt.Input(tuple(shape), dtype, "full", low=-7.0)


def gate_inputs(cfg, logit_scale: float = 1.0, seed: int = 100) -> dict[str, pt.Input]:
    s = sizes(cfg)
    return {
        "x": pt.normal((s.T, s.D), pl.BF16, seed=seed, scale=2.0),
        "gamma": pt.uniform((1, s.D), pl.FP32, 0.5, 1.5, seed=seed + 1),
        "gate_w": pt.normal((s.E, s.D), pl.FP32, seed=seed + 2, scale=logit_scale / s.D ** 0.5),
        "gate_bias": pt.normal((1, s.E), pl.FP32, seed=seed + 3, scale=0.1),
        "tid2eid": HashTable((cfg.vocab, s.K), pl.INT32, "hash", seed=seed + 4, experts=s.E),
        "input_ids": pt.randint((s.T, 1), pl.INT32, 0, cfg.vocab, seed=seed + 5),
    }


def gate_outputs(cfg) -> dict[str, pt.Input]:
    s = sizes(cfg)
    return {"x_i8": marker((s.T, s.D), pl.INT8), "x_scale": marker((s.T, 1), pl.FP32),
            "indices": marker((s.T, s.K), pl.INT32), "weights": marker((s.T, s.K), pl.FP32)}


def _col_scale(shape, k: int, std: float, seed: int) -> pt.Input:
    base = std / (k ** 0.5 * INT8_STD)
    return pt.uniform(shape, pl.FP32, 0.5 * base, 1.5 * base, seed=seed)


def ffn_weights(cfg, experts: int, prefix: str, seed: int) -> dict[str, pt.Input]:
    """W8A8 SwiGLU weights of `experts` experts, stacked along rows: w1 / w3 [n * D, F],
    w2 [n * F, D] INT8; per-output-channel FP32 scales [n, F] and [n, D]."""
    s = sizes(cfg)
    n = experts
    return {
        f"{prefix}w1": Int8Weights((n * s.D, s.F), pl.INT8, seed=seed),
        f"{prefix}w1_scale": _col_scale((n, s.F), s.D, GATE_STD, seed + 1),
        f"{prefix}w3": Int8Weights((n * s.D, s.F), pl.INT8, seed=seed + 2),
        f"{prefix}w3_scale": _col_scale((n, s.F), s.D, GATE_STD, seed + 3),
        f"{prefix}w2": Int8Weights((n * s.F, s.D), pl.INT8, seed=seed + 4),
        f"{prefix}w2_scale": _col_scale((n, s.D), s.F, 1.0 / GATE_STD ** 2, seed + 5),
    }


def routed_weights(cfg) -> dict[str, pt.Input]:
    return ffn_weights(cfg, sizes(cfg).L, "", seed=200)


def shared_weights(cfg) -> dict[str, pt.Input]:
    return ffn_weights(cfg, 1, "s", seed=300)


def token_rows(cfg, seed: int = 400) -> dict[str, pt.Input]:
    """The gate's outputs as inputs of the later stages: x_i8 [T, D], x_scale [T, 1]."""
    s = sizes(cfg)
    return {"x_i8": pt.randint((s.T, s.D), pl.INT8, -127, 128, seed=seed),
            "x_scale": pt.uniform((s.T, 1), pl.FP32, 0.005, 0.03, seed=seed + 1)}


def random_routes(cfg, seed: int = 500) -> dict[str, pt.Input]:
    """indices [T, K] (distinct experts per token, over all E experts) and weights [T, K]."""
    s = sizes(cfg)
    return {"indices": HashTable((s.T, s.K), pl.INT32, "hash", seed=seed, experts=s.E),
            "weights": pt.uniform((s.T, s.K), pl.FP32, 0.1, 1.0, seed=seed + 1)}
