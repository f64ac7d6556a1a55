"""The MoE route-buffer study of seeds/000 as DSL kernels: shared shapes, inputs and helpers.

`stages.py` holds the stages every case shares (hc_pre stand-in, router, expert, combine, copies),
`dispatch.py` the dispatch variants (Approach A, Approach B, the ideal data-dependent dispatch,
Option 2 packed dispatch), `golden.py` their numpy references. The case files are
tests/kernels/moe_route_matrix.py (C0-C7) and tests/kernels/moe_dispatch.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pto.language as pl
from pto import testing as pt


@dataclass(frozen=True)
class MoeShape:
    """One configuration. RM = RECV_MAX = T * TOPK slots per expert; C = column chunk of every
    [rows, D] tile (keeps tiles well inside UB); F = expert hidden size; PAD = padded route width."""

    name: str
    T: int
    D: int
    E: int
    TOPK: int
    C: int
    F: int
    HC: int = 2
    PAD: int = 8

    @property
    def RM(self) -> int:  # noqa: N802 - the seed's RECV_MAX
        return self.T * self.TOPK

    @property
    def R(self) -> int:  # noqa: N802 - (token, k) pairs
        return self.T * self.TOPK


# The seed's shapes, and a set where nothing is a power of two.
SEED = MoeShape("seed", T=16, D=4096, E=8, TOPK=2, C=512, F=32)
ODD = MoeShape("odd", T=13, D=96, E=6, TOPK=3, C=32, F=24)
EPS = 1e-6


def model_inputs(s: MoeShape) -> dict[str, pt.Input]:
    """hc_pre input streams, router and expert weights (seeded; expert weights scaled so the
    BF16 activations stay O(1))."""
    return {
        "x": pt.normal((s.HC * s.T, s.D), pl.BF16, seed=11),
        "hc_w": pt.uniform((s.T, s.HC), pl.FP32, 0.2, 0.8, seed=12),
        "norm_w": pt.uniform((1, s.D), pl.FP32, 0.5, 1.5, seed=13),
        "gate_w": pt.normal((s.D, s.E), pl.BF16, seed=14, scale=0.2),
        "gate_b": pt.normal((1, s.E), pl.FP32, seed=15, scale=0.1),
        **expert_inputs(s),
    }


def expert_inputs(s: MoeShape) -> dict[str, pt.Input]:
    return {
        "w_up": pt.normal((s.E * s.D, s.F), pl.BF16, seed=21, scale=s.D ** -0.5),
        "w_down": pt.normal((s.E * s.F, s.D), pl.BF16, seed=22, scale=s.F ** -0.5),
        "ws_up": pt.normal((s.D, s.F), pl.BF16, seed=23, scale=s.D ** -0.5),
        "ws_down": pt.normal((s.F, s.D), pl.BF16, seed=24, scale=s.F ** -0.5),
    }


def expert_table(s: MoeShape) -> pt.Input:
    """The seed's host-filled expert id table: expert_table[e, slot] = e (FP32)."""
    return ExpertTable((s.E, s.RM), pl.FP32)


@dataclass(frozen=True)
class ExpertTable(pt.Input):
    """An input whose row e holds the value e."""

    def make(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[0], dtype=np.float32)[:, None], self.shape[1], axis=1)


def out(shape: tuple[int, ...], dtype) -> pt.Input:
    """An output buffer, pre-filled with a value no kernel writes (so an unwritten element shows)."""
    return pt.Input(tuple(shape), dtype, "full", low=-7.0)
