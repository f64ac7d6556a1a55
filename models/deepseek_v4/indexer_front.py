"""DeepSeek-V4 CSA indexer, front half (pypto-lib.md §2.2 `decode_indexer.py` query path and
`decode_indexer_compressor.py`): the INT8 queries, head weights and INT8 key cache that
models/deepseek_v4/indexer.py scores.

Query (indexer_query), per token t and indexer head h (width ID, IH heads):
  q      = FP32(INT32(qr @ idx_wq_b)) * qr_scale[t] * idx_wq_b_scale       [ID] of head h
  rope   nope dims BF16(q), last rope_dim dims BF16(interleaved RoPE(q, rope_cos/sin[t]))
  rotate hq = FP32(q_bf16 @ H) * ID^-0.5      (H: Sylvester +-1 BF16, exact products)
  quant  q_scale = max(amax(hq), eps) / 127, q_i8 = rint(hq / q_scale)   row t * IH + h
  head_w = FP32(x @ weights_proj) * (IH^-0.5 * ID^-0.5)    (the reference's index_weights_scale)
Keys (indexer_compress): the ratio-4 overlap compressor of compressor.py at width ID (states
[seqs * 8, 2 * ID]); a token with cmp_slot >= 0 pools, RMSNorms (gamma) and RoPEs one BF16 row,
then hk = BF16(FP32(row @ H) * ID^-0.5) (the reference quantizes the BF16-rounded key; the query
is quantized from FP32), k_scale[0, dst] = max(amax, eps) / 127, k_cache[dst] = rint(hk / scale).

    python -m pto.cli run models/deepseek_v4/indexer_front_cases.py
"""
import pto.language as pl

from models.deepseek_v4.compressor import compress_tokens, project
from models.deepseek_v4.moe_common import int_cols, quant_scale

QK = 256  # K chunk of the INT8 q projection: [256, 128] INT8 = 32 KiB of L0B


def weights_scale(cfg) -> float:
    """index_weights_scale of the reference: IH^-0.5 * ID^-0.5 (one FP32 rounding when applied)."""
    return cfg.indexer_heads ** -0.5 * cfg.indexer_dim ** -0.5


# --- tile helpers (plain functions: they emit ops into the caller's kernel) ----------------------
def rope_rows(x, cos, sin, rows, R):
    """Interleaved RoPE of x [rows, R] FP32 by cos/sin [rows, R/2]: pair i = columns (2i, 2i+1)
    becomes (x0 cos - x1 sin, x1 cos + x0 sin). Vectorized with a lane swap j^1 and the half
    tables spread to every lane (j // 2); the even lanes' sin sign-folded to -sin, which gives the
    same bits as compressor.norm_rope's subtraction (x1 * -s = -(x1 * s) exactly)."""
    j = int_cols(rows, R)
    half = pl.cast(pl.mul(pl.cast(j, pl.FP32), 0.5), pl.INT32, mode="floor")  # j // 2, exact
    odd = pl.sub(j, pl.mul(half, 2))
    swap = pl.sub(pl.add(j, 1), pl.mul(odd, 2))
    sign = pl.cast(pl.sub(pl.mul(odd, 2), 1), pl.FP32)
    c = pl.gather(cos, half, dim=1)
    s = pl.mul(pl.gather(sin, half, dim=1), sign)
    return pl.add(pl.mul(x, c), pl.mul(pl.gather(x, swap, dim=1), s))


# --- query ---------------------------------------------------------------------------------------
@pl.jit.inline
def indexer_query(qr, qr_scale, x, idx_wq_b, idx_wq_b_scale, weights_proj, hadamard, rope_cos, rope_sin, q_i8,
                  q_scale, head_w, cfg):
    """qr [T, q_lora] INT8, qr_scale [T, 1]; x [T, D] BF16; idx_wq_b [q_lora, IH * ID] INT8 and
    idx_wq_b_scale [1, IH * ID]; weights_proj [D, IH] BF16; hadamard [ID, ID] BF16 (+-1);
    rope_cos/sin [T, rope_dim / 2]. Out: q_i8 [T * IH, ID] INT8, q_scale [T * IH, 1], head_w [T, IH].
    One SPMD block per head: the head's weight columns are read once for all T rows."""
    T, IH, ID, R = cfg.tokens, cfg.indexer_heads, cfg.indexer_dim, cfg.rope_dim
    nope, QL = ID - R, qr.shape[1]
    qk = min(QK, QL)
    q_cols = pl.reshape(q_i8, [T, IH * ID])   # row t holds heads 0 .. IH - 1 side by side
    s_cols = pl.reshape(q_scale, [T, IH])
    for h in pl.spmd(IH, name_hint="idx_q"):
        c0 = h * ID
        acc = pl.matmul(qr[0:T, 0:qk], idx_wq_b[0:qk, c0:c0 + ID])
        for kb in pl.range(1, QL // qk):
            acc = pl.matmul_acc(acc, qr[0:T, kb * qk:(kb + 1) * qk], idx_wq_b[kb * qk:(kb + 1) * qk, c0:c0 + ID])
        q = pl.col_expand_mul(pl.row_expand_mul(pl.cast(acc, pl.FP32), qr_scale[0:T, 0:1]),
                              idx_wq_b_scale[0:1, c0:c0 + ID])
        rot = rope_rows(q[0:T, nope:ID], rope_cos[0:T, :], rope_sin[0:T, :], T, R)
        qb = pl.full([T, ID], dtype=pl.BF16, value=0.0)
        qb = pl.assemble(qb, pl.cast(q[0:T, 0:nope], pl.BF16), [0, 0])
        qb = pl.assemble(qb, pl.cast(rot, pl.BF16), [0, nope])
        hq = pl.mul(pl.matmul(qb, hadamard[:, :], out_dtype=pl.FP32), ID ** -0.5)
        scale = quant_scale(pl.row_max(pl.abs(hq)), cfg.int8_amax_eps)
        q_cols[0:T, c0:c0 + ID] = pl.cast(pl.row_expand_div(hq, scale), pl.INT8, mode="rint")
        s_cols[0:T, h:h + 1] = scale
    w = pl.create_tensor([T, IH], dtype=pl.FP32)
    project(x, weights_proj, w, None, None)
    with pl.at(name_hint="idx_head_w"):
        head_w[:, :] = pl.mul(w[:, :], weights_scale(cfg))


# --- keys ----------------------------------------------------------------------------------------
@pl.jit.inline
def pool_norm_rows(kv, gate, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos, rope_sin,
                   normed, cfg):
    """compressor.compress_tokens (ratio 4, overlap) at width ID, except that a closing token's
    normed BF16 row goes to normed[t] (the rotation and quantization follow in parallel)."""
    compress_tokens(kv, gate, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos, rope_sin,
                    normed, 4, True, cfg.with_(head_dim=cfg.indexer_dim), by_token=True, name_hint="idx_compress")


@pl.jit.inline
def rotate_quant_keys(normed, cmp_slot, hadamard, k_cache, k_scale, cfg):
    """Per closing token: Hadamard rotation, BF16 rounding, per-row INT8 quant into the cache."""
    ID = cfg.indexer_dim
    for t in pl.spmd(cfg.tokens, name_hint="idx_k_quant"):
        dst = pl.read(cmp_slot, [t, 0])
        if dst >= 0:
            hk = pl.mul(pl.matmul(normed[t:t + 1, 0:ID], hadamard[:, :], out_dtype=pl.FP32), ID ** -0.5)
            hk = pl.cast(pl.cast(hk, pl.BF16), pl.FP32)
            scale = quant_scale(pl.row_max(pl.abs(hk)), cfg.int8_amax_eps)
            k_cache[dst:dst + 1, 0:ID] = pl.cast(pl.row_expand_div(hk, scale), pl.INT8, mode="rint")
            k_scale[0:1, dst:dst + 1] = scale


@pl.jit.inline
def indexer_compress(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma,
                     rope_cos, rope_sin, hadamard, k_cache, k_scale, cfg):
    """x [T, D] BF16; wkv/wgate [D, 2 * ID] BF16; ape [4, 2 * ID] FP32; kv/score_state
    [seqs * 8, 2 * ID] FP32 (InOut); slot tables [T, 1] INT32 (compressor.py); gamma [1, ID] FP32;
    rope_cos/sin [T, rope_dim / 2] (compressed position); hadamard [ID, ID] BF16 (+-1);
    k_cache [rows, ID] INT8 and k_scale [1, rows] FP32 (InOut), written at cmp_slot[t] >= 0."""
    T, W = cfg.tokens, wkv.shape[1]
    kv = pl.create_tensor([T, W], dtype=pl.FP32)
    project(x, wkv, kv, None, None)
    gate = pl.create_tensor([T, W], dtype=pl.FP32)
    project(x, wgate, gate, ape_row, ape)
    normed = pl.create_tensor([T, cfg.indexer_dim], dtype=pl.BF16)
    pool_norm_rows(kv, gate, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos, rope_sin,
                   normed, cfg)
    rotate_quant_keys(normed, cmp_slot, hadamard, k_cache, k_scale, cfg)


@pl.jit
def indexer_q(qr, qr_scale, x, idx_wq_b, idx_wq_b_scale, weights_proj, hadamard, rope_cos, rope_sin, q_i8: pl.Out,
              q_scale: pl.Out, head_w: pl.Out, cfg):
    indexer_query(qr, qr_scale, x, idx_wq_b, idx_wq_b_scale, weights_proj, hadamard, rope_cos, rope_sin, q_i8,
                  q_scale, head_w, cfg)


@pl.jit
def indexer_kv(x, wkv, wgate, ape, ape_row, kv_state: pl.InOut, score_state: pl.InOut, state_slot, pool_base,
               cmp_slot, gamma, rope_cos, rope_sin, hadamard, k_cache: pl.InOut, k_scale: pl.InOut, cfg):
    indexer_compress(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma,
                     rope_cos, rope_sin, hadamard, k_cache, k_scale, cfg)
