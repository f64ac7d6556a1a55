"""MoE alignment: the token-to-expert layout of grouped expert matmuls, deterministic.

For this chip's L local experts and the routes r = t * topk + k (indices[t, k] global ids):
  * expert_counts[0, e]: routes to local expert e;
  * sorted_ids: the route ids of expert 0, then expert 1, ..., each expert's run padded with the
    sentinel R (= "no route") to a multiple of the block M; the order inside an expert is the route
    order, never completion order (route_layout's triangular matmul; no atomics);
  * expert_offsets[0, e]: where expert e's run starts, [0, L] = tokens_post_pad = the padded total;
  * block_expert[b]: the expert owning rows [b * M, (b + 1) * M) of sorted_ids, -1 past the last;
  * expert_visits[0, e]: how many alignment blocks handled expert e (always 1; the test for the
    seeds/002 bug, where expert ids wrapped modulo the expert count and an expert was done twice).
Routes to other chips' experts are skipped.

Tasks: `align_fill` (sentinels), `align_scatter` (one SPMD block per EB local experts, the last one
partial when EB does not divide L: its missing experts are masked to index -1, which the scatters
skip), `align_blocks` (block table and totals from the counts and offsets just written).

    python -m pto.cli run models/deepseek_v4/moe_align.py -p a2a3sim
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto import testing as pt

from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4 import moe_inputs as I
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.moe_common import int_cols, int_rows, route_layout, sizes


def align_sizes(s):
    """(P, NB): sorted_ids rows (every route plus at most M - 1 padding per expert, in whole
    blocks) and blocks."""
    P = -(-(s.R + s.L * (s.M - 1)) // s.M) * s.M
    return P, P // s.M


def padded(counts, M):
    """Counts rounded up to whole blocks (FP32; M is a power of two, the scaling is exact)."""
    return pl.mul(pl.cast(pl.cast(pl.mul(counts, 1.0 / M), pl.INT32, mode="ceil"), pl.FP32), float(M))


@pl.jit.inline
def align_fill(sorted_ids, expert_visits, s):
    P, _ = align_sizes(s)
    with pl.at(name_hint="align_fill"):
        sorted_ids[:, :] = pl.full([P, 1], dtype=pl.INT32, value=s.R)
        expert_visits[:, :] = pl.full([1, s.L], dtype=pl.INT32, value=0)
    return sorted_ids


@pl.jit.inline
def align_scatter(indices, sorted_ids, expert_counts, expert_offsets, expert_visits, s):
    """One loop iteration per block of EB local experts. (A loop, not SPMD blocks: the blocks'
    scatters go to data-dependent rows of one buffer, which the compiler cannot prove disjoint.)"""
    with pl.at(name_hint="align_scatter"):
        _, onehot, pos, counts = route_layout(indices, s)
        # exclusive prefix sum of the padded counts: [1, L] @ strictly-upper-triangular [L, L]
        upper = pl.cast(pl.lt(int_rows(s.L, s.L), int_cols(s.L, s.L)), pl.FP32)
        offsets = pl.matmul(padded(counts, s.M), upper)
        for b in pl.range(-(-s.L // s.EB)):
            lo = pl.cast(b * s.EB, pl.INT32)
            scatter_expert_block(onehot, pos, counts, offsets, lo, sorted_ids, expert_counts, expert_offsets,
                                 expert_visits, s)
    return sorted_ids


def scatter_expert_block(onehot, pos, counts, offsets, lo, sorted_ids, expert_counts, expert_offsets,
                         expert_visits, s):
    """The routes of local experts [lo, lo + EB) to their rows of sorted_ids; those experts'
    counts, offsets and a visit mark. Experts past L (the partial last block) are masked to -1."""
    ids = int_cols(1, s.L)
    in_block = pl.mul(pl.cast(pl.ge(ids, lo), pl.FP32), pl.cast(pl.lt(ids, lo + s.EB), pl.FP32))
    mine = pl.row_sum(pl.col_expand_mul(onehot, in_block))
    dest = pl.cast(pl.add(pl.row_sum(pl.col_expand_mul(onehot, offsets)), pos), pl.INT32)
    dest = pl.where(pl.gt(mine, 0.0), dest, -1)
    pl.scatter(sorted_ids, dest, pl.arange([s.R, 1], dtype=pl.INT32), mode="skip")
    experts = pl.add(pl.arange([1, s.EB], dtype=pl.INT32), lo)
    experts = pl.where(pl.lt(experts, s.L), experts, -1)  # the partial last block: no wrap-around
    counts_i = pl.cast(counts, pl.INT32)
    offsets_i = pl.cast(offsets, pl.INT32)
    pl.scatter(expert_counts, experts, pl.gather(counts_i, experts, dim=1, mode="skip"), dim=1, mode="skip")
    pl.scatter(expert_offsets, experts, pl.gather(offsets_i, experts, dim=1, mode="skip"), dim=1,
               mode="skip")
    pl.scatter(expert_visits, experts, pl.full([1, s.EB], dtype=pl.INT32, value=1), dim=1, reduce="add",
               mode="skip")


@pl.jit.inline
def align_blocks(expert_counts, expert_offsets, block_expert, tokens_post_pad, s):
    """block_expert[b] = number of experts whose padded run ends at or before row b * M (= the
    expert owning block b), -1 from the padded total on."""
    _, NB = align_sizes(s)
    with pl.at(name_hint="align_blocks"):
        pc = padded(pl.cast(expert_counts[:, :], pl.FP32), s.M)
        ends = pl.add(pl.cast(expert_offsets[:, 0:s.L], pl.FP32), pc)
        total = pl.row_sum(pc)
        starts = pl.cast(pl.mul(int_rows(NB, s.L), s.M), pl.FP32)
        owner = pl.row_sum(pl.cast(pl.le(pl.col_expand(starts, ends), starts), pl.FP32))
        live = pl.lt(starts[:, 0:1], pl.col_expand(pl.full([NB, 1], dtype=pl.FP32, value=0.0), total))
        block_expert[:, :] = pl.where(live, pl.cast(owner, pl.INT32), -1)
        tokens_post_pad[:, :] = pl.cast(total, pl.INT32)
        expert_offsets[:, s.L:s.L + 1] = pl.cast(total, pl.INT32)
    return block_expert


@pl.jit.inline
def moe_align(indices, sorted_ids, block_expert, tokens_post_pad, expert_counts, expert_offsets, expert_visits,
              cfg):
    s = sizes(cfg)
    align_fill(sorted_ids, expert_visits, s)
    align_scatter(indices, sorted_ids, expert_counts, expert_offsets, expert_visits, s)
    return align_blocks(expert_counts, expert_offsets, block_expert, tokens_post_pad, s)


@pl.jit
def moe_align_entry(indices, sorted_ids: pl.Out, block_expert: pl.Out, tokens_post_pad: pl.Out,
                    expert_counts: pl.Out, expert_offsets: pl.Out, expert_visits: pl.Out, cfg):
    moe_align(indices, sorted_ids, block_expert, tokens_post_pad, expert_counts, expert_offsets, expert_visits,
              cfg)


def outputs(cfg):
    s = sizes(cfg)
    P, NB = align_sizes(s)
    return {"sorted_ids": I.marker((P, 1), pl.INT32), "block_expert": I.marker((NB, 1), pl.INT32),
            "tokens_post_pad": I.marker((1, 1), pl.INT32), "expert_counts": I.marker((1, s.L), pl.INT32),
            "expert_offsets": I.marker((1, s.L + 1), pl.INT32), "expert_visits": I.marker((1, s.L), pl.INT32)}


def golden(cfg, indices, **_):
    P, NB = align_sizes(sizes(cfg))
    return G.moe_align(indices, cfg, P, NB)


def case(name, cfg, indices=None):
    """Integer outputs: exact (atol = rtol = 0)."""
    routes = {"indices": I.fixed(indices, pl.INT32)} if indices is not None else \
        {"indices": I.random_routes(cfg)["indices"]}
    return pt.Case(name, moe_align_entry, {**routes, **outputs(cfg)}, golden, consts={"cfg": cfg},
                   in_test_suite=I.in_suite(cfg))


CASES = [
    case("moe_align_small", SMALL),
    # 2 local experts of 4 on this chip (rank 1): routes to rank 0 are skipped
    case("moe_align_small_ep2_rank1", SMALL.with_(ep_size=2, ep_rank=1)),
    # 5 local experts, expert block 4: the second block holds one expert and three masked ones
    case("moe_align_5_experts_block_4", SMALL.with_(experts=5, topk=2, align_expert_block=4),
         np.array([[4, 0], [1, 4], [4, 2], [0, 3]] * 4)),
    case("moe_align_flash", FLASH),
]
