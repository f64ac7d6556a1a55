"""KV cache writeback: kv_cache[slot_mapping[t]] = kv[t] for every token row t, where a slot of
-1 means "no write" (a padding token, or a token whose KV another chip keeps).

The slots are data, so this is one data-dependent `pl.scatter` with mode="skip": every later reader
of the cache is ordered after it (the whole cache counts as written), and a duplicate slot keeps the
last token in row order (DESIGN.md §2), whatever the schedule.

    python -m pto.cli run models/deepseek_v4/kv_cache.py
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4.config import FLASH, SMALL


@pl.jit.inline
def kv_writeback(kv, slot_mapping, kv_cache):
    """kv [T, D] into rows slot_mapping[:, 0] of kv_cache [rows, D] (-1: skipped)."""
    t, d = kv.shape
    with pl.at(name_hint="kv_writeback"):
        rows = pl.row_expand(pl.full([t, d], dtype=pl.INT32, value=0), slot_mapping[:, 0:1])
        pl.scatter(kv_cache, rows, kv[:, :], dim=0, mode="skip")
    return kv_cache


@pl.jit
def kv_cache_write(kv, slot_mapping, kv_cache: pl.InOut):
    kv_writeback(kv, slot_mapping, kv_cache)


def golden(kv, slot_mapping, kv_cache):
    """Row by row in token order (a later duplicate overwrites an earlier one); -1 writes nothing."""
    out = kv_cache.copy()
    for t, slot in enumerate(slot_mapping[:, 0]):
        if slot >= 0:
            out[slot] = kv[t]
    return {"kv_cache": out}


@dataclass(frozen=True)
class Slots(pt.Input):
    """slot_mapping [T, 1]: distinct cache rows below `rows`, a fraction `skip` of them -1."""

    rows: int = 0
    skip: float = 0.25

    def make(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        slots = rng.permutation(self.rows)[:self.shape[0]]
        slots[rng.random(self.shape[0]) < self.skip] = -1
        return slots.reshape(self.shape).astype(np.int32)


def case(name, cfg, tokens=None, skip=0.25, seed=0):
    """Bitwise (atol = rtol = 0): rows are copied, no arithmetic."""
    t = tokens or cfg.tokens
    rows, d = cfg.kv_history, cfg.head_dim
    inputs = {"kv": pt.normal((t, d), pl.BF16, seed=seed + 1),
              "slot_mapping": Slots((t, 1), pl.INT32, "slots", seed=seed + 2, rows=rows, skip=skip),
              "kv_cache": pt.normal((rows, d), pl.BF16, seed=seed + 3)}
    return pt.Case(name, kv_cache_write, inputs, golden)


CASES = [
    case("kv_cache_small", SMALL),
    case("kv_cache_t1", SMALL, tokens=1),
    case("kv_cache_all_skipped", SMALL, skip=1.0),
    case("kv_cache_flash", FLASH),
]
