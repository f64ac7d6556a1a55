"""DeepSeek-V4 KV compressors (pypto-lib.md §2.2 `decode_compressor_ratio{4,128}.py`): every
`ratio` tokens of a sequence become one compressed KV row.

Per decode token t (in order; two tokens of one sequence may share a step):
  proj      kv = x @ wkv, g = x @ wgate + ape[ape_row[t]]          BF16 x BF16 -> FP32, [W] each
  state     kv_state[state_slot[t]] = kv, score_state[...] = g    (-1: no write)
  pool      if cmp_slot[t] >= 0: over the sequence's state rows from pool_base[t], per channel,
            softmax over the rows of the scores weights the kv rows:
              ratio 128: the 128 rows, W = head_dim;
              ratio 4 (overlap): W = 2 * head_dim, the 4 previous rows' first half and the 4 current
              rows' second half: 8 rows of head_dim;
  norm      RMSNorm(gamma), then interleaved RoPE on the last rope dims (angle of the compressed
            position: rope_cos/sin[t]), BF16 into cmp_cache[cmp_slot[t]];
  shift     ratio 4 only: the current half of the state becomes the previous half.
The slot mappings are computed by the host, as in the reference (`decode_prepare`).

    python -m pto.cli run models/deepseek_v4/compressor_cases.py
"""
import pto.language as pl

PROJ_K, PROJ_N = 128, 128   # [128, 128] BF16 weight tiles: 32 KiB of L0B


def pool_cols(ratio: int, overlap: bool, d: int) -> int:
    """Channels pooled at once: [rows, cols] FP32 kv, score, exp and product tiles fit UB."""
    return min(d, 32 if ratio * (2 if overlap else 1) > 16 else 128)


@pl.jit.inline
def project(x, w, out, bias_rows, ape):
    """out [T, W] = x @ w (+ ape[bias_rows[t]] when ape is given); K-tiled FP32 accumulation."""
    T, D, W = x.shape[0], x.shape[1], w.shape[1]
    n, k = min(PROJ_N, W), min(PROJ_K, D)
    for b in pl.spmd(W // n, name_hint="cmp_proj"):
        n0 = b * n
        acc = pl.matmul(x[0:T, 0:k], w[0:k, n0:n0 + n], out_dtype=pl.FP32)
        for kb in pl.range(1, D // k):
            acc = pl.matmul_acc(acc, x[0:T, kb * k:(kb + 1) * k], w[kb * k:(kb + 1) * k, n0:n0 + n])
        if ape is not None:
            index = pl.row_expand(pl.full([T, n], dtype=pl.INT32, value=0), bias_rows)
            acc = pl.add(acc, pl.gather(ape[:, n0:n0 + n], index, dim=0))
        out[0:T, n0:n0 + n] = acc


@pl.jit.inline
def pooled_row(kv_state, score_state, base, ratio, overlap, d):
    """[1, d] FP32: per channel, softmax over the window's state rows of the scores, times kv."""
    rows, cw = (2 * ratio if overlap else ratio), pool_cols(ratio, overlap, d)
    y = pl.full([1, d], dtype=pl.FP32, value=0.0)
    for c0 in pl.unroll(0, d, cw):
        if overlap:
            kv = pl.full([rows, cw], dtype=pl.FP32, value=0.0)
            kv = pl.assemble(kv, kv_state[base:base + ratio, c0:c0 + cw], [0, 0])
            kv = pl.assemble(kv, kv_state[base + ratio:base + rows, d + c0:d + c0 + cw], [ratio, 0])
            sc = pl.full([rows, cw], dtype=pl.FP32, value=0.0)
            sc = pl.assemble(sc, score_state[base:base + ratio, c0:c0 + cw], [0, 0])
            sc = pl.assemble(sc, score_state[base + ratio:base + rows, d + c0:d + c0 + cw], [ratio, 0])
        else:
            kv = kv_state[base:base + rows, c0:c0 + cw]
            sc = score_state[base:base + rows, c0:c0 + cw]
        e = pl.exp(pl.col_expand_sub(sc, pl.col_max(sc)))
        y = pl.assemble(y, pl.div(pl.col_sum(pl.mul(kv, e)), pl.col_sum(e)), [0, c0])
    return y


@pl.jit.inline
def norm_rope_rows(y, gamma, cos, sin, cfg):
    """Rows of y [n, d] FP32: RMSNorm (times gamma [1, d] unless None), then forward interleaved
    RoPE on the last rope dims by cos/sin [n, rope_dim // 2] -> [n, d] BF16. All rows' pairs at
    once: row r * R2 + i of the [n * R2, 2] view is row r's pair i, and so is row r * R2 + i of
    the reshaped cos/sin."""
    n, d = y.shape
    R, R2 = cfg.rope_dim, cfg.rope_dim // 2
    nope = d - R
    rs = pl.rsqrt(pl.add(pl.mul(pl.row_sum(pl.mul(y, y)), 1.0 / d), cfg.rms_eps))
    yn = pl.row_expand_mul(y, rs)
    if gamma is not None:
        yn = pl.col_expand_mul(yn, gamma)
    pairs = pl.reshape(pl.read(yn, [0, nope], [n, R]), [n * R2, 2])  # a copy: a column slice is no row block
    c, s = pl.reshape(cos, [n * R2, 1]), pl.reshape(sin, [n * R2, 1])
    x0, x1 = pairs[:, 0:1], pairs[:, 1:2]
    rot = pl.full([n * R2, 2], dtype=pl.FP32, value=0.0)
    rot = pl.assemble(rot, pl.sub(pl.mul(x0, c), pl.mul(x1, s)), [0, 0])
    rot = pl.assemble(rot, pl.add(pl.mul(x0, s), pl.mul(x1, c)), [0, 1])
    out = pl.full([n, d], dtype=pl.BF16, value=0.0)
    out = pl.assemble(out, pl.cast(yn[:, 0:nope], pl.BF16), [0, 0])
    return pl.assemble(out, pl.cast(pl.reshape(rot, [n, R]), pl.BF16), [0, nope])


@pl.jit.inline
def norm_rope(y, gamma, rope_cos, rope_sin, t, cfg):
    """One row y [1, d] FP32 at token t's angles: norm_rope_rows."""
    R2 = cfg.rope_dim // 2
    return norm_rope_rows(y, gamma, rope_cos[t:t + 1, 0:R2], rope_sin[t:t + 1, 0:R2], cfg)


@pl.jit.inline
def compress_tokens(kv, gate, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos, rope_sin,
                    cmp_cache, ratio, overlap, cfg, by_token=False, name_hint="compress"):
    """The sequential part: tokens of one sequence depend on each other through the state. A
    compressed row goes to cmp_cache[cmp_slot[t]], or with `by_token` to row t (a staging buffer
    the caller finishes in parallel: the indexer's keys)."""
    W = kv.shape[1]
    with pl.at(name_hint=name_hint):
        for t in pl.range(cfg.tokens):
            row = pl.read(state_slot, [t, 0])
            if row >= 0:
                kv_state[row:row + 1, 0:W] = kv[t:t + 1, 0:W]
                score_state[row:row + 1, 0:W] = gate[t:t + 1, 0:W]
            dst = pl.read(cmp_slot, [t, 0])
            if dst >= 0:
                base = pl.read(pool_base, [t, 0])
                y = pooled_row(kv_state, score_state, base, ratio, overlap, cfg.head_dim)
                out = t if by_token else dst
                cmp_cache[out:out + 1, 0:cfg.head_dim] = norm_rope(y, gamma, rope_cos, rope_sin, t, cfg)
                if overlap:
                    kv_state[base:base + ratio, 0:W] = kv_state[base + ratio:base + 2 * ratio, 0:W]
                    score_state[base:base + ratio, 0:W] = score_state[base + ratio:base + 2 * ratio, 0:W]


@pl.jit.inline
def compressor(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma,
               rope_cos, rope_sin, cmp_cache, ratio, overlap, cfg):
    W = wkv.shape[1]
    kv = pl.create_tensor([cfg.tokens, W], dtype=pl.FP32)
    project(x, wkv, kv, None, None)
    gate = pl.create_tensor([cfg.tokens, W], dtype=pl.FP32)
    project(x, wgate, gate, ape_row, ape)
    compress_tokens(kv, gate, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma, rope_cos, rope_sin,
                    cmp_cache, ratio, overlap, cfg)


@pl.jit
def compressor_ratio4(x, wkv, wgate, ape, ape_row, kv_state: pl.InOut, score_state: pl.InOut, state_slot, pool_base,
                      cmp_slot, gamma, rope_cos, rope_sin, cmp_cache: pl.InOut, cfg):
    compressor(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma,
               rope_cos, rope_sin, cmp_cache, 4, True, cfg)


@pl.jit
def compressor_ratio128(x, wkv, wgate, ape, ape_row, kv_state: pl.InOut, score_state: pl.InOut, state_slot,
                        pool_base, cmp_slot, gamma, rope_cos, rope_sin, cmp_cache: pl.InOut, cfg):
    compressor(x, wkv, wgate, ape, ape_row, kv_state, score_state, state_slot, pool_base, cmp_slot, gamma,
               rope_cos, rope_sin, cmp_cache, 128, False, cfg)
