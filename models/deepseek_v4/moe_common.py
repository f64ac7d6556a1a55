"""Shared pieces of the MoE path: derived sizes, the route layout every stage agrees on, and the
per-row INT8 quantization.

Layout of one chip's routed work (dispatch, expert_routed, combine): local expert e owns rows
[e * RM, (e + 1) * RM) of the receive buffers, RM = T rounded up to the M tile (a token sends at
most one row to an expert: its top-k experts are distinct, and so are the experts of a hash-table
row). Inside an expert the rows follow the route order r = t * topk + k, never completion order.

The helpers without a decorator are plain Python: they are called inside a `pl.at` kernel body
and only emit tile ops into it (a `@pl.jit.inline` call inside a mixed kernel cannot be split into
its cube and vector parts yet, see tests/kernels/moe_lib/stages.py:gate_topk).
"""
from __future__ import annotations

from dataclasses import dataclass

import pto.language as pl

from .config import Config

INT8_MAX = 127.0


@dataclass(frozen=True)
class MoeSizes:
    """Every size the MoE kernels derive from a Config, checked once."""

    T: int      # token rows
    D: int      # hidden
    F: int      # expert intermediate size
    K: int      # top-k
    E: int      # routed experts of the model
    L: int      # local experts of this chip
    first: int  # global id of local expert 0
    R: int      # routes T * K
    M: int      # M tile (rows of one expert matmul, alignment block)
    RM: int     # receive rows per local expert
    KC: int     # K chunk of the INT8 matmuls
    NC: int     # N chunk of the expert matmuls
    C: int      # column chunk of the hidden-wide vector work
    GE: int     # experts per router-logits block
    GK: int     # K chunk of the router matmul
    EB: int     # experts per moe_align block

    @property
    def rows(self) -> int:
        return self.L * self.RM


def sizes(cfg: Config) -> MoeSizes:
    D, F, M = cfg.hidden, cfg.moe_inter, cfg.moe_m_tile
    L = cfg.local_experts
    if cfg.experts % cfg.ep_size or not 0 <= cfg.ep_rank < cfg.ep_size:
        raise ValueError(f"MoE config: {cfg.experts} experts over ep_size {cfg.ep_size}, rank {cfg.ep_rank}")
    KC, NC, C = min(cfg.moe_k_tile, D, F), min(cfg.moe_n_tile, F, D), min(cfg.moe_col_chunk, D)
    GE = min(cfg.gate_expert_block, cfg.experts)
    GK = min(16384 // GE, D)  # GE x GK FP32 router weights fill at most L0B (64 KiB)
    for what, n, c in (("hidden", D, KC), ("hidden", D, NC), ("hidden", D, C), ("moe_inter", F, KC),
                       ("moe_inter", F, NC), ("experts", cfg.experts, GE), ("hidden", D, GK)):
        if n % c:
            raise ValueError(f"MoE config: {what} {n} is not a multiple of its tile {c}")
    if cfg.tokens > M and cfg.tokens % M:
        raise ValueError(f"MoE config: {cfg.tokens} tokens: need <= {M} or a multiple of {M} (M tile)")
    RM = -(-cfg.tokens // M) * M
    return MoeSizes(T=cfg.tokens, D=D, F=F, K=cfg.topk, E=cfg.experts, L=L, first=cfg.ep_rank * L,
                    R=cfg.tokens * cfg.topk, M=M, RM=RM, KC=KC, NC=NC, C=C, GE=GE, GK=GK,
                    EB=cfg.align_expert_block)


# --- tile helpers (plain functions: call them inside a kernel body) -------------------------------
def int_cols(rows: int, cols: int, start: int = 0):
    """[rows, cols] INT32 tile whose column j holds start + j."""
    return pl.col_expand(pl.full([rows, cols], dtype=pl.INT32, value=0), pl.arange([1, cols], dtype=pl.INT32,
                                                                                  start=start))


def int_rows(rows: int, cols: int, start: int = 0):
    """[rows, cols] INT32 tile whose row i holds start + i."""
    return pl.row_expand(pl.full([rows, cols], dtype=pl.INT32, value=0), pl.arange([rows, 1], dtype=pl.INT32,
                                                                                  start=start))


def route_layout(indices, s: MoeSizes):
    """Where each route goes on this chip. `indices` is the [T, K] INT32 router output (global ids).

    Returns (local [R, 1] INT32 local expert id, onehot [R, L] FP32, pos [R, 1] FP32 rank of the
    route among the earlier routes of its expert, counts [1, L] FP32 routes per local expert).
    Routes to other chips have an all-zero onehot row. The position is a strictly-lower-triangular
    matmul over the one-hot rows: integers below 2**24, exact in FP32, and in route order by
    construction (no atomics, nothing depends on which task finishes first)."""
    local = pl.sub(pl.reshape(pl.read(indices, [0, 0], [s.T, s.K]), [s.R, 1]), s.first)
    onehot = pl.cast(pl.eq(pl.row_expand(int_cols(s.R, s.L), local), int_cols(s.R, s.L)), pl.FP32)
    earlier = pl.cast(pl.lt(int_cols(s.R, s.R), int_rows(s.R, s.R)), pl.FP32)
    pos = pl.row_sum(pl.mul(pl.matmul(earlier, onehot), onehot))
    return local, onehot, pos, pl.col_sum(onehot)


def quant_scale(amax, eps: float):
    """Per-row INT8 scale from a row's amax: max(amax, eps) / 127. The caller quantizes with
    q = cast(h / scale, INT8, "rint") (nearest even; |h / scale| <= 127, so it never saturates)."""
    return pl.div(pl.maximum(amax, eps), INT8_MAX)


def quantize_chunks(src, scale, dst, width: int, chunk: int) -> None:
    """dst = cast(src / scale, INT8, "rint") column chunk by column chunk (scale [rows, 1], from
    quant_scale), inside the caller's kernel."""
    for c in pl.range(width // chunk):
        cols = slice(c * chunk, c * chunk + chunk)
        dst[:, cols] = pl.cast(pl.row_expand_div(src[:, cols], scale), pl.INT8, mode="rint")
