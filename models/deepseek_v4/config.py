"""DeepSeek-V4-Flash constants (../shared/reference/pypto-lib.md §2.1) and the small test shapes.

Every kernel in this package takes its sizes from a `Config`: `FLASH` is one chip's share of the
real model (decode, T=8 token rows, expert-parallel 8), `SMALL` keeps every structural feature
(multiple heads, groups, top-k, hash layers, compress ratios) at sizes the tests run in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Config:
    tokens: int                  # T: token rows of one decode step (DECODE_BATCH x DECODE_SEQ)
    hidden: int                  # D
    # attention
    heads: int
    head_dim: int
    rope_dim: int                # the last `rope_dim` of each head get RoPE
    q_lora: int
    o_lora: int
    o_groups: int
    window: int                  # sliding window
    indexer_heads: int
    indexer_dim: int
    indexer_topk: int
    hc_mult: int                 # hyper-connection copies of the residual stream
    sinkhorn_iters: int
    # MoE
    experts: int                 # routed experts of the whole model
    ep_size: int                 # expert-parallel chips; this chip owns experts / ep_size of them
    topk: int
    moe_inter: int
    shared_experts: int = 1
    routed_scaling: float = 1.5
    swiglu_limit: float = 10.0
    num_hash_layers: int = 3
    vocab: int = 129280
    # numerics
    rms_eps: float = 1e-6
    hc_eps: float = 1e-6
    int8_amax_eps: float = 1e-4  # per-token INT8 quant: amax floored here, scale = amax / 127
    block_size: int = 128        # paged KV page
    # sparse attention / compressors (tests and the case files size their caches from these)
    hca_topk: int = 128          # HCA: compressed positions attended after the window (max_pos / 128)
    kv_history: int = 512        # rows of the paged original-KV cache the cases allocate
    cmp_history: int = 640       # rows of the compressed-KV cache the cases allocate
    # MoE placement and tiling (models/deepseek_v4/moe_common.py says how each is used)
    ep_rank: int = 0             # this chip's shard: local experts [ep_rank * L, (ep_rank + 1) * L)
    moe_m_tile: int = 16         # cube M tile: rows of one expert matmul (and the alignment block)
    moe_k_tile: int = 512        # K chunk of the INT8 expert matmuls
    moe_n_tile: int = 128        # N chunk of the expert matmuls (K x N INT8 = 64 KiB = L0B)
    moe_col_chunk: int = 512     # column chunk of the [rows, hidden] vector work
    gate_expert_block: int = 32  # router logits: experts per SPMD block (32 x 512 FP32 = 64 KiB = L0B)
    align_expert_block: int = 4  # moe_align: local experts per SPMD block

    @property
    def local_experts(self) -> int:
        return self.experts // self.ep_size

    @property
    def nope_dim(self) -> int:
        return self.head_dim - self.rope_dim

    @property
    def softmax_scale(self) -> float:
        return self.head_dim ** -0.5

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)


FLASH = Config(tokens=8, hidden=4096, heads=64, head_dim=512, rope_dim=64, q_lora=1024, o_lora=1024,
               o_groups=8, window=128, indexer_heads=64, indexer_dim=128, indexer_topk=512, hc_mult=4,
               sinkhorn_iters=20, experts=256, ep_size=8, topk=6, moe_inter=2048)

SMALL = Config(tokens=16, hidden=256, heads=4, head_dim=64, rope_dim=16, q_lora=128, o_lora=128,
               o_groups=2, window=16, indexer_heads=4, indexer_dim=32, indexer_topk=16, hc_mult=4,
               sinkhorn_iters=20, experts=8, ep_size=1, topk=2, moe_inter=128, vocab=64,
               hca_topk=8, kv_history=64, cmp_history=48)
