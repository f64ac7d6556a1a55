"""Host-side metadata of one decode step (what the reference's `decode_prepare` lowers): which
sequence and position each token row is, and from that every index table the decode layer reads.

A step has T token rows: `T // per_seq` sequences of `per_seq` consecutive positions each (MTP
decode: previous + current, per_seq = 2; T = 1 is one sequence of one token). Sequence b owns

  original KV rows   b * R .. (b + 1) * R - 1,  R = kv_history // sequences: a ring over positions
                     (position p lives in row b * R + perm_b[p % R], perm_b a seeded permutation,
                     so the paged cache's rows are scattered); R >= window + per_seq - 1, so this
                     step's writes never land on a row another token of the step still attends;
  compressed rows    b * C + c for compressed position c,  C = cmp_history // sequences (the main
                     compressor's cache and the indexer's cache use the same rows);
  compressor state   b * slots .. for each ratio (slots = 2 * ratio with overlap, else ratio).

The tables, [T, n] INT32 with -1 for "none":
  ori_slot        the row this token's KV is written to
  win_idx         its window: rows of positions p - window + 1 .. p (-1 before the sequence start);
                  it includes this step's own writes, so attention reads what the writeback wrote
  ape_row / state_slot / pool_base / cmp_slot   per compressor ratio (compressor.py's docstring)
  hca_idx         the newest hca_topk compressed rows a token may see (deterministic HCA top-k)
  cmp_base / cmp_len   the CSA indexer scores rows cmp_base .. cmp_base + cmp_len - 1
RoPE tables: rope_cos / rope_sin [T, rope_dim // 2] of each token's position, and the compressed
rows' tables of the position where their group starts (theta 1.6e5, as the compressed rope).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.deepseek_v4.config import Config

ROPE_THETA, CMP_ROPE_THETA = 1e4, 1.6e5


@dataclass(frozen=True)
class Step:
    cfg: Config
    start: int          # position of sequence 0's first token; the others are near it (see starts)
    seed: int = 0
    offsets: tuple = (127, 126, 1, 2)  # first positions modulo 128 of sequences 0, 1, 2, 3 (see starts)
    spread: bool = True                # sequences 4.. start 128 positions after sequences 0..3

    @property
    def per_seq(self) -> int:
        return 2 if self.cfg.tokens % 2 == 0 else 1

    @property
    def sequences(self) -> int:
        return self.cfg.tokens // self.per_seq

    @property
    def kv_rows(self) -> int:
        rows = self.cfg.kv_history // self.sequences
        if rows < self.cfg.window + self.per_seq - 1:
            raise ValueError(f"kv_history {self.cfg.kv_history} leaves {rows} rows per sequence, fewer "
                             f"than the window {self.cfg.window} + {self.per_seq - 1} this step adds")
        return rows

    @property
    def cmp_rows(self) -> int:
        return self.cfg.cmp_history // self.sequences

    def starts(self) -> list[int]:
        """By default sequence b starts where its group of 128 (and so of 4) closes at its first
        token (127), at its second (126), at neither with a group of 4 closing at neither (1) or at
        its second (2). `Step(cfg, 0, offsets=(0,), spread=False)`: every sequence starts now."""
        base, n = self.start - self.start % 128, len(self.offsets)
        return [base + (128 * (b // n) if self.spread else 0) + self.offsets[b % n] for b in range(self.sequences)]

    def tokens(self) -> list[tuple[int, int]]:
        """(sequence, position) of each token row."""
        starts = self.starts()
        return [(t // self.per_seq, starts[t // self.per_seq] + t % self.per_seq) for t in range(self.cfg.tokens)]

    def kv_row(self, b: int, p: int) -> int:
        perm = np.random.default_rng(self.seed + b).permutation(self.kv_rows)
        return b * self.kv_rows + int(perm[p % self.kv_rows])

    def cmp_row(self, b: int, c: int) -> int:
        if c >= self.cmp_rows:
            raise ValueError(f"compressed position {c} does not fit the {self.cmp_rows} rows of a sequence")
        return b * self.cmp_rows + c


def _column(values) -> np.ndarray:
    return np.asarray(values, np.int64).reshape(-1, 1).astype(np.int32)


def ori_slot(step: Step) -> np.ndarray:
    return _column([step.kv_row(b, p) for b, p in step.tokens()])


def win_idx(step: Step) -> np.ndarray:
    w = step.cfg.window
    return np.array([[step.kv_row(b, q) if q >= 0 else -1 for q in range(p - w + 1, p + 1)]
                     for b, p in step.tokens()], np.int32)


def compressor_slots(step: Step, ratio: int) -> dict[str, np.ndarray]:
    overlap = ratio == 4
    slots = 2 * ratio if overlap else ratio
    toks = step.tokens()
    return {
        "ape_row": _column([p % ratio for _, p in toks]),
        "state_slot": _column([b * slots + (ratio if overlap else 0) + p % ratio for b, p in toks]),
        "pool_base": _column([b * slots for b, _ in toks]),
        "cmp_slot": _column([step.cmp_row(b, p // ratio) if p % ratio == ratio - 1 else -1 for b, p in toks]),
    }


def hca_idx(step: Step, ratio: int = 128) -> np.ndarray:
    n = step.cfg.hca_topk
    out = np.full((step.cfg.tokens, n), -1, np.int32)
    for t, (b, p) in enumerate(step.tokens()):
        have = (p + 1) // ratio
        rows = [step.cmp_row(b, c) for c in range(max(0, have - n), have)]
        out[t, :len(rows)] = rows
    return out


def csa_window(step: Step, ratio: int = 4) -> dict[str, np.ndarray]:
    toks = step.tokens()
    return {"cmp_base": _column([step.cmp_row(b, 0) for b, _ in toks]),
            "cmp_len": _column([(p + 1) // ratio for _, p in toks])}


def rope(positions, rope_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """cos, sin [n, rope_dim // 2] FP32 of position * theta^(-2i / rope_dim), computed in FP64."""
    inv = theta ** (-np.arange(0, rope_dim, 2, dtype=np.float64) / rope_dim)
    ang = np.outer(np.asarray(positions, np.float64), inv)
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def tables(step: Step, ratio: int) -> dict[str, np.ndarray]:
    """Every table a layer of compress ratio `ratio` (0: SWA, 4: CSA, 128: HCA) reads."""
    cfg, toks = step.cfg, step.tokens()
    cos, sin = rope([p for _, p in toks], cfg.rope_dim, ROPE_THETA)
    out = {"ori_slot": ori_slot(step), "win_idx": win_idx(step), "rope_cos": cos, "rope_sin": sin}
    if ratio:
        out.update(compressor_slots(step, ratio))
        out["cmp_rope_cos"], out["cmp_rope_sin"] = rope([p - p % ratio for _, p in toks], cfg.rope_dim, CMP_ROPE_THETA)
    if ratio == 128:
        out["hca_idx"] = hca_idx(step)
    if ratio == 4:
        out.update(csa_window(step))
    return out
