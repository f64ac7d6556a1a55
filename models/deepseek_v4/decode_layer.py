"""One DeepSeek-V4 decode layer of one chip as one @pl.jit program: an attention block (SWA, HCA or
CSA, chosen by `layer_type`) and the MoE block, each between a hyper-connection pre-mix and post-mix
(pypto-lib.md §2.6):

  attention  hc_pre(x_hc) -> x_mixed, post, comb;  rms_norm -> x_normed
             qkv_proj_rope -> q, kv, qr (INT8), qr_scale;  kv_writeback(kv -> kv_cache, ori_slot)
    HCA      compressor ratio 128 -> cmp_kv;  cmp_idx = the newest compressed rows (host table)
    CSA      compressor ratio 4 -> cmp_kv;  indexer query (qr) and its compressor (-> idx_k);
             indexer scores + top-k over the sequence's rows -> cmp_idx
             sparse_attn(q, kv_cache, win_idx, cmp_kv, cmp_idx) with the grouped o-projection
             hc_post(attn_out, x_hc, post, comb) -> x_attn
  moe        hc_pre(x_attn) -> x_mixed, post, comb;  moe (gate ... combine) -> ffn_out
             hc_post(ffn_out, x_attn, post, comb) -> x_next

The stages meet through caches written and read in the same program: attention gathers the row the
writeback wrote this step, and the rows the compressors wrote (the decode-step tables in
decode_metadata.py make sure they do). Every such ordering comes from the compiler's dependency
analysis of the data-dependent writes, none from the author.

`decode_layer` places every buffer's lifetime automatically; `decode_layer_manual` is the same
program with `auto_scope=False` and one `pl.scope()` per stage, as the reference's decode forward
places them by hand (sparse attention inside keeps its own three scopes, seeds/003).

Weights and step tables are passed by name (`**w`, see decode_layer_cases.py for every name); the
caches and compressor states, which the layer updates, are the named InOut parameters.
"""
from __future__ import annotations

from contextlib import nullcontext

import pto.language as pl
from pto.errors import PlValueError

from models.deepseek_v4.compressor import compressor
from models.deepseek_v4.hc_post import hc_post
from models.deepseek_v4.hc_pre import hc_pre
from models.deepseek_v4.indexer import indexer_scores, indexer_topk
from models.deepseek_v4.indexer_front import indexer_compress, indexer_query
from models.deepseek_v4.kv_cache import kv_writeback
from models.deepseek_v4.moe import moe
from models.deepseek_v4.qkv_proj_rope import qkv_proj_rope
from models.deepseek_v4.rmsnorm import rms_norm
from models.deepseek_v4.sparse_attn import sparse_attn_auto, sparse_attn_scoped
from models.deepseek_v4.sparse_attn_shape import AttnShape

LAYER_TYPES = {"swa": 0, "hca": 128, "csa": 4}  # layer type -> compress ratio


def stage(manual: bool):
    """A stage's lifetime scope: explicit under manual scopes, the compiler's otherwise."""
    return pl.scope() if manual else nullcontext()


def hc_buffers(cfg):
    """hc_pre's results, which live until hc_post: (x_mixed [T, D] BF16, post [T, hc], comb [T, hc * hc])."""
    T, hc = cfg.tokens, cfg.hc_mult
    return (pl.create_tensor([T, cfg.hidden], dtype=pl.BF16), pl.create_tensor([T, hc], dtype=pl.FP32),
            pl.create_tensor([T, hc * hc], dtype=pl.FP32))


def normed_buffer(cfg):
    return pl.create_tensor([cfg.tokens, cfg.hidden], dtype=pl.BF16)


def qr_buffers(cfg):
    """The q path's INT8 latent and its scales, which the CSA indexer reads."""
    return pl.create_tensor([cfg.tokens, cfg.q_lora], dtype=pl.INT8), pl.create_tensor([cfg.tokens, 1], dtype=pl.FP32)


@pl.jit.inline
def project_qkv(x_mixed, kv_cache, q, x_normed, qr, qr_scale, w, cfg):
    """rms_norm, the q/kv projections with RoPE, and this step's KV written to the cache. x_normed,
    qr and qr_scale are None where no later stage reads them: then they are this stage's scratch."""
    x_normed = normed_buffer(cfg) if x_normed is None else x_normed
    rms_norm(x_mixed, w["attn_norm"], x_normed, cfg.rms_eps)
    qr, qr_scale = qr_buffers(cfg) if qr is None else (qr, qr_scale)
    kv = pl.create_tensor([cfg.tokens, cfg.head_dim], dtype=pl.BF16)
    qkv_proj_rope(x_normed, w["wq_a"], w["gamma_cq"], w["wq_b"], w["wq_b_scale"], w["wkv"], w["gamma_ckv"],
                  w["rope_cos"], w["rope_sin"], q, kv, qr, qr_scale, cfg)
    kv_writeback(kv, w["ori_slot"], kv_cache)


@pl.jit.inline
def compress(x_normed, cmp_kv, kv_state, score_state, ratio, w, cfg):
    compressor(x_normed, w["cmp_wkv"], w["cmp_wgate"], w["cmp_ape"], w["ape_row"], kv_state, score_state,
               w["state_slot"], w["pool_base"], w["cmp_slot"], w["cmp_gamma"], w["cmp_rope_cos"],
               w["cmp_rope_sin"], cmp_kv, ratio, ratio == 4, cfg)


@pl.jit.inline
def select_rows(x_normed, qr, qr_scale, idx, cmp_idx, w, cfg):
    """CSA: the indexer's query, its compressed cache for this step, and the top-k rows -> cmp_idx."""
    T, IH = cfg.tokens, cfg.indexer_heads
    q_i8 = pl.create_tensor([T * IH, cfg.indexer_dim], dtype=pl.INT8)
    q_scale = pl.create_tensor([T * IH, 1], dtype=pl.FP32)
    head_w = pl.create_tensor([T, IH], dtype=pl.FP32)
    indexer_query(qr, qr_scale, x_normed, w["idx_wq_b"], w["idx_wq_b_scale"], w["weights_proj"], w["hadamard"],
                  w["rope_cos"], w["rope_sin"], q_i8, q_scale, head_w, cfg)
    indexer_compress(x_normed, w["idx_wkv"], w["idx_wgate"], w["idx_ape"], w["ape_row"], idx["kv_state"],
                     idx["score_state"], w["state_slot"], w["pool_base"], w["cmp_slot"], w["idx_gamma"],
                     w["cmp_rope_cos"], w["cmp_rope_sin"], w["hadamard"], idx["k"], idx["k_scale"], cfg)
    scores = pl.create_tensor([T, idx["k"].shape[0]], dtype=pl.FP32)
    indexer_scores(q_i8, q_scale, head_w, idx["k"], idx["k_scale"], w["cmp_len"], scores, cfg, w["cmp_base"])
    indexer_topk(scores, cmp_idx, cfg)


@pl.jit.inline
def attention(x_hc, caches, layer_type, manual, w, cfg):
    """The attention block: x_hc [T * hc, D] FP32 -> x_attn [T * hc, D] FP32. Buffers that cross
    stages are made here, outside the stages' scopes; each stage's own temporaries inside."""
    ratio = LAYER_TYPES[layer_type]
    x_mixed, post, comb = hc_buffers(cfg)
    with stage(manual):
        hc_pre(x_hc, w["hc_attn_fn"], w["hc_attn_scale"], w["hc_attn_base"], x_mixed, post, comb, cfg)
    q = pl.create_tensor([cfg.tokens, cfg.heads, cfg.head_dim], dtype=pl.BF16)
    x_normed = normed_buffer(cfg) if ratio else None
    qr, qr_scale = qr_buffers(cfg) if layer_type == "csa" else (None, None)
    with stage(manual):
        project_qkv(x_mixed, caches["kv"], q, x_normed, qr, qr_scale, w, cfg)
    if ratio:
        with stage(manual):
            compress(x_normed, caches["cmp_kv"], caches["kv_state"], caches["score_state"], ratio, w, cfg)
    cmp_idx = w.get("hca_idx")
    if layer_type == "csa":
        cmp_idx = pl.create_tensor([cfg.tokens, cfg.indexer_topk], dtype=pl.INT32)
        with stage(manual):
            select_rows(x_normed, qr, qr_scale, caches["idx"], cmp_idx, w, cfg)
    attn_out = pl.create_tensor([cfg.tokens, cfg.hidden], dtype=pl.BF16)
    attend = sparse_attn_scoped if manual else sparse_attn_auto
    attend(q, caches["kv"], w["win_idx"], caches["cmp_kv"], cmp_idx, w["attn_sink"], w["rope_cos"],
           w["rope_sin"], w["wo_a"], w["wo_b"], w["wo_b_scale"], attn_out, AttnShape(cfg, layer_type))
    x_attn = pl.create_tensor([cfg.tokens * cfg.hc_mult, cfg.hidden], dtype=pl.FP32)
    with stage(manual):
        hc_post(attn_out, x_hc, post, comb, x_attn, cfg.hc_mult)
    return x_attn


@pl.jit.inline
def ffn(x_attn, x_next, layer_id, manual, w, cfg):
    """The MoE block: x_attn -> x_next, both [T * hc, D] FP32."""
    x_mixed, post, comb = hc_buffers(cfg)
    with stage(manual):
        hc_pre(x_attn, w["hc_ffn_fn"], w["hc_ffn_scale"], w["hc_ffn_base"], x_mixed, post, comb, cfg)
    ffn_out = pl.create_tensor([cfg.tokens, cfg.hidden], dtype=pl.BF16)
    with stage(manual):
        moe(x_mixed, w["ffn_norm"], w["gate_w"], w["gate_bias"], w["tid2eid"], w["input_ids"], w["w1"],
            w["w1_scale"], w["w3"], w["w3_scale"], w["w2"], w["w2_scale"], w["sw1"], w["sw1_scale"], w["sw3"],
            w["sw3_scale"], w["sw2"], w["sw2_scale"], ffn_out, cfg, layer_id)
    with stage(manual):
        hc_post(ffn_out, x_attn, post, comb, x_next, cfg.hc_mult)


@pl.jit.inline
def layer(x_hc, x_next, caches, cfg, layer_type, layer_id, manual, w):
    T, hc, D = x_hc.shape
    x_attn = attention(pl.reshape(x_hc, [T * hc, D]), caches, layer_type, manual, w, cfg)
    ffn(x_attn, pl.reshape(x_next, [T * hc, D]), layer_id, manual, w, cfg)


CACHES = {"swa": ("kv_cache",), "hca": ("kv_cache", "cmp_kv", "kv_state", "score_state")}
CACHES["csa"] = CACHES["hca"] + ("idx_k", "idx_k_scale", "idx_kv_state", "idx_score_state")


def check_layer(layer_type, caches: dict) -> None:
    """The caller's mistakes, named before tracing trips over them (caches by parameter name)."""
    if layer_type not in LAYER_TYPES:
        raise PlValueError(f"layer_type {layer_type!r} is not a decode layer type: pass one of "
                           f"{', '.join(map(repr, LAYER_TYPES))}")
    missing = [name for name in CACHES[layer_type] if caches[name] is None]
    if missing:
        raise PlValueError(f"a {layer_type} layer updates {', '.join(missing)}: pass them (InOut tensors)")


class LayerWeights(dict):
    """The layer's keyword tensors (weights and step tables): a missing one is named."""

    def __missing__(self, name):
        raise PlValueError(f"the decode layer reads '{name}', which was not passed: pass it as a keyword "
                           f"argument (decode_layer_inputs.py makes every one)")


def layer_caches(layer_type, kv_cache, cmp_kv, kv_state, score_state, idx_k, idx_k_scale, idx_kv_state,
                 idx_score_state):
    """The caches a layer of `layer_type` updates, checked, grouped as the stages take them."""
    check_layer(layer_type, {"kv_cache": kv_cache, "cmp_kv": cmp_kv, "kv_state": kv_state,
                             "score_state": score_state, "idx_k": idx_k, "idx_k_scale": idx_k_scale,
                             "idx_kv_state": idx_kv_state, "idx_score_state": idx_score_state})
    return {"kv": kv_cache, "cmp_kv": cmp_kv, "kv_state": kv_state, "score_state": score_state,
            "idx": {"k": idx_k, "k_scale": idx_k_scale, "kv_state": idx_kv_state, "score_state": idx_score_state}}


@pl.jit
def decode_layer(x_hc, x_next: pl.Out, kv_cache: pl.InOut, cmp_kv: pl.InOut = None, kv_state: pl.InOut = None,
                 score_state: pl.InOut = None, idx_k: pl.InOut = None, idx_k_scale: pl.InOut = None,
                 idx_kv_state: pl.InOut = None, idx_score_state: pl.InOut = None, *, cfg, layer_type, layer_id,
                 **w):
    """x_hc, x_next [T, hc, D] FP32; automatic scopes."""
    caches = layer_caches(layer_type, kv_cache, cmp_kv, kv_state, score_state, idx_k, idx_k_scale, idx_kv_state,
                          idx_score_state)
    layer(x_hc, x_next, caches, cfg, layer_type, layer_id, False, LayerWeights(w))


@pl.jit(auto_scope=False)
def decode_layer_manual(x_hc, x_next: pl.Out, kv_cache: pl.InOut, cmp_kv: pl.InOut = None,
                        kv_state: pl.InOut = None, score_state: pl.InOut = None, idx_k: pl.InOut = None,
                        idx_k_scale: pl.InOut = None, idx_kv_state: pl.InOut = None,
                        idx_score_state: pl.InOut = None, *, cfg, layer_type, layer_id, **w):
    """The same layer with one explicit scope per stage."""
    caches = layer_caches(layer_type, kv_cache, cmp_kv, kv_state, score_state, idx_k, idx_k_scale, idx_kv_state,
                          idx_score_state)
    layer(x_hc, x_next, caches, cfg, layer_type, layer_id, True, LayerWeights(w))
