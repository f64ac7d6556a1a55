"""Sizes of one sparse-attention call, derived from a `Config` and the variant (SWA / HCA / CSA).

A token attends to `topk` KV rows: its sliding window (`cfg.window` rows of the original KV cache)
plus, for HCA, the `cfg.hca_topk` newest ratio-128 compressed rows, or, for CSA, the indexer's
`cfg.indexer_topk` compressed rows. The rows are processed in K-blocks of `k_tile`; the other
tile sizes keep every on-chip buffer inside its space at the Flash sizes (L0B holds 64 KiB: a
[64, 512] BF16 KV block is exactly that, so `k_tile` is at most 64).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from .config import Config

VARIANTS = ("swa", "hca", "csa")


@dataclass(frozen=True)
class AttnShape:
    cfg: Config
    variant: str

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"sparse attention variant '{self.variant}' is not one of {', '.join(VARIANTS)}")
        if self.cfg.heads % self.cfg.o_groups or self.cfg.heads % self.h_tile:
            raise ValueError(f"{self.cfg.heads} heads do not split into {self.cfg.o_groups} output groups "
                             f"and head tiles of {self.h_tile}")

    # --- the KV rows one token attends to -------------------------------------------------------
    @property
    def extra(self) -> int:
        """Compressed rows after the window: 0 (SWA), the ratio-128 tail (HCA), indexer top-k (CSA)."""
        return {"swa": 0, "hca": self.cfg.hca_topk, "csa": self.cfg.indexer_topk}[self.variant]

    @property
    def topk(self) -> int:
        return self.cfg.window + self.extra

    @property
    def k_tile(self) -> int:
        return gcd(64, self.cfg.window, self.extra) if self.extra else gcd(64, self.cfg.window)

    @property
    def blocks(self) -> int:
        return self.topk // self.k_tile

    @property
    def gather_rows(self) -> int:
        """Rows gathered per step: a [16, 512] INT32 index tile and its BF16 rows are 48 KiB of UB."""
        return min(16, self.k_tile)

    # --- heads ---------------------------------------------------------------------------------
    @property
    def tokens(self) -> int:
        return self.cfg.tokens

    @property
    def heads(self) -> int:
        return self.cfg.heads

    @property
    def head_dim(self) -> int:
        return self.cfg.head_dim

    @property
    def rope_dim(self) -> int:
        return self.cfg.rope_dim

    @property
    def nope_dim(self) -> int:
        return self.cfg.nope_dim

    @property
    def h_tile(self) -> int:
        """Head rows per QK^T / PV matmul (16 = the cube's M granule)."""
        return min(16, self.cfg.heads)

    @property
    def head_tiles(self) -> int:
        return self.cfg.heads // self.h_tile

    @property
    def blk_rows(self) -> int:
        """Rows of the per-block softmax statistics: one per (token, head tile, block, head)."""
        return self.tokens * self.head_tiles * self.blocks * self.h_tile

    def blk_row(self, t, hb, sb):
        return ((t * self.head_tiles + hb) * self.blocks + sb) * self.h_tile

    # --- grouped output projection -------------------------------------------------------------
    @property
    def groups(self) -> int:
        return self.cfg.o_groups

    @property
    def heads_per_group(self) -> int:
        return self.cfg.heads // self.cfg.o_groups

    @property
    def group_in(self) -> int:
        return self.heads_per_group * self.cfg.head_dim

    @property
    def o_lora(self) -> int:
        return self.cfg.o_lora

    @property
    def hidden(self) -> int:
        return self.cfg.hidden

    @property
    def a_k(self) -> int:
        return min(128, self.group_in)

    @property
    def a_n(self) -> int:
        return min(128, self.o_lora)

    @property
    def b_k(self) -> int:
        return min(256, self.o_lora)

    @property
    def b_n(self) -> int:
        return min(128, self.cfg.hidden)

    @property
    def name(self) -> str:
        return f"{self.variant}_t{self.tokens}_h{self.heads}x{self.head_dim}"
