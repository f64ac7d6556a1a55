"""Cases of sparse attention (models/deepseek_v4/sparse_attn.py): SWA, HCA and CSA, each with
manual and automatic scopes, on the small configuration and on Flash; plus the edge cases (token
rows whose every index is -1, the start of a sequence where the window is not yet full, T = 1).

Index tables are generated like a decode step would see them: token t sits at position
`start + t`; its window holds the physical rows of positions max(0, p - window + 1) .. p of a paged
cache (a seeded permutation of the cache rows), -1 for the missing ones; HCA attends the compressed
positions 0 .. (p + 1) // 128 - 1 (the newest `hca_topk` of them), CSA a seeded choice of up to
`indexer_topk` distinct compressed rows (what the indexer's top-k would return), -1 padded.

The Flash cases take seconds each and the test suite runs every case several times, so CASES
holds them only when DSV4_FLASH=1 (tests/models/test_sparse_attn.py runs one Flash case itself):

    DSV4_FLASH=1 python -m pto.cli run models/deepseek_v4/sparse_attn_cases.py --scope-stats -k flash
"""
import os

from dataclasses import dataclass

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.config import FLASH, SMALL, Config
from models.deepseek_v4.sparse_attn import sparse_attn_cmp_auto, sparse_attn_cmp_manual, sparse_attn_swa_auto, sparse_attn_swa_manual
from models.deepseek_v4.sparse_attn_golden import golden
from models.deepseek_v4.sparse_attn_shape import AttnShape

HCA_RATIO = 128


@dataclass(frozen=True)
class IndexTable:
    """A seeded [T, n] INT32 table of KV row indices for one decode step (see the module docstring)."""

    kind: str                  # "window", "hca" or "csa"
    cfg: Config
    start: int                 # position of token 0
    seed: int
    invalid_rows: tuple = ()   # token rows that get -1 everywhere

    def _window(self, t, p, rng_perm):
        lo = max(0, p - self.cfg.window + 1)
        row = np.full(self.cfg.window, -1, np.int64)
        row[:p + 1 - lo] = rng_perm[np.arange(lo, p + 1) % self.cfg.kv_history]
        return row

    def _compressed(self, p, rng, n):
        have = min((p + 1) // (HCA_RATIO if self.kind == "hca" else 4), self.cfg.cmp_history)
        row = np.full(n, -1, np.int64)
        if self.kind == "hca":
            take = np.arange(max(0, have - n), have)
        else:
            take = rng.choice(have, size=min(n, have), replace=False)
        row[:len(take)] = take
        return row

    def make(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(self.cfg.kv_history)
        n = {"window": self.cfg.window, "hca": self.cfg.hca_topk, "csa": self.cfg.indexer_topk}[self.kind]
        out = np.full((self.cfg.tokens, n), -1, np.int64)
        for t in range(self.cfg.tokens):
            if t in self.invalid_rows:
                continue
            p = self.start + t
            out[t] = self._window(t, p, perm) if self.kind == "window" else self._compressed(p, rng, n)
        return out.astype(np.int32)


def inputs(s: AttnShape, start: int, seed: int, invalid_rows: tuple = ()) -> dict:
    c = s.cfg
    T, H, D, R = c.tokens, c.heads, c.head_dim, c.rope_dim
    angles = pt.uniform((T, R // 2), pl.FP32, -3.2, 3.2, seed=seed + 5)
    inp = {
        "q": pt.normal((T, H, D), pl.BF16, seed=seed),
        "kv_cache": pt.normal((c.kv_history, D), pl.BF16, seed=seed + 1),
        "win_idx": IndexTable("window", c, start, seed + 2, invalid_rows),
        "attn_sink": pt.normal((H,), pl.FP32, seed=seed + 3),
        "rope_cos": CosSin(angles, np.cos), "rope_sin": CosSin(angles, np.sin),
        "wo_a": pt.normal((s.groups * s.group_in, c.o_lora), pl.BF16, seed=seed + 6, scale=s.group_in ** -0.5),
        "wo_b": pt.randint((s.groups * c.o_lora, c.hidden), pl.INT8, -127, 128, seed=seed + 7),
        "wo_b_scale": pt.uniform((1, c.hidden), pl.FP32, 1e-4, 1e-3, seed=seed + 8),
        "out": pt.zeros((T, c.hidden), pl.BF16),
    }
    if s.extra:
        inp["cmp_kv"] = pt.normal((c.cmp_history, D), pl.BF16, seed=seed + 9)
        inp["cmp_idx"] = IndexTable(s.variant, c, start, seed + 10, invalid_rows)
    return inp


@dataclass(frozen=True)
class CosSin:
    """cos or sin of seeded rotation angles: a RoPE table for the step's tokens."""

    angles: pt.Input
    fn: object

    def make(self) -> np.ndarray:
        return self.fn(self.angles.make().astype(np.float64)).astype(np.float32)


def case(variant: str, cfg: Config, scopes: str, start: int, seed: int = 0, invalid_rows: tuple = (),
         label: str = "") -> pt.Case:
    s = AttnShape(cfg, variant)
    kernel = {("swa", "manual"): sparse_attn_swa_manual, ("swa", "auto"): sparse_attn_swa_auto}.get(
        (variant, scopes), sparse_attn_cmp_manual if scopes == "manual" else sparse_attn_cmp_auto)
    # Tolerance: the golden repeats every step in the kernel's dtypes, matmul K-tiles included, so
    # the two agree bitwise unless numpy's BLAS sums a same-shaped product in another order; the
    # INT8 quant turns such a 1-ulp FP32 difference into at most a 1-step INT8 difference of one
    # element, i.e. |d out| <= 127 * scale-ish: 1e-2 relative + a BF16 ulp covers it.
    return pt.Case(f"sparse_attn_{variant}_{scopes}_{label or cfg_name(cfg)}", kernel,
                   inputs(s, start, seed, invalid_rows), golden, atol=1e-3, rtol=1e-2, consts={"s": s})


def cfg_name(cfg: Config) -> str:
    return "flash" if cfg == FLASH else f"small_t{cfg.tokens}"


# Positions: a steady-state step (every window full, compressed rows available) and the edges.
_SMALL_START = 40
_FLASH_START = 512 * 4 + 200   # Flash: > 512 ratio-4 rows so CSA's top-512 is full
_FLASH = FLASH.with_(kv_history=512, cmp_history=640)

FLASH_CASES = [case(_v, _FLASH, _scopes, _FLASH_START, label="flash")
               for _v in ("swa", "hca", "csa") for _scopes in ("manual", "auto")]
CASES = FLASH_CASES if os.environ.get("DSV4_FLASH") == "1" else []
for _v in ("swa", "hca", "csa"):
    for _scopes in ("manual", "auto"):
        CASES.append(case(_v, SMALL, _scopes, _SMALL_START))
    CASES.append(case(_v, SMALL, "manual", 0, seed=20, label="seq_start"))
    CASES.append(case(_v, SMALL, "auto", _SMALL_START, seed=30, invalid_rows=(0, 5, 15), label="invalid_rows"))
    CASES.append(case(_v, SMALL.with_(tokens=1), "manual", 3, seed=40, label="t1"))
