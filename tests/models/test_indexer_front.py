"""The indexer front (models/deepseek_v4/indexer_front.py) beyond its cases: undoing the Hadamard
rotation of the dequantized outputs recovers the float64 query and the normed key (the rotation is
orthonormal and the quantization error stays within half a step per element), the head weights are
the formula, and a step writes exactly the cache rows its cmp_slot names."""
import numpy as np
import pytest

from models.deepseek_v4 import compressor_cases as C
from models.deepseek_v4 import indexer_front_cases as F
from models.deepseek_v4.config import SMALL
from pto.testing import run_case

F64 = np.float64


def _run(case):
    inp = case.make_inputs()
    out, comparisons = run_case(case)
    assert all(c.ok for c in comparisons)
    return inp, out


def _unrotate(i8, scale, hadamard):
    """float64 (i8 * scale) @ H^T * ID^-0.5: the inverse of the kernel's rotation."""
    n = hadamard.shape[0]
    return (i8.astype(F64) * scale.astype(F64)) @ hadamard.astype(F64).T * n ** -0.5


def _within_quant_error(back, want, scale, bf16_rel):
    """Per row: ||back - want|| <= sqrt(n) * scale / 2 (INT8 rounding, kept by an orthonormal
    rotation) + bf16_rel * ||want|| (the BF16 roundings before the rotation)."""
    n = want.shape[1]
    err = np.linalg.norm(back - want, axis=1)
    bound = n ** 0.5 * scale.astype(F64)[:, 0] / 2 + bf16_rel * np.linalg.norm(want, axis=1) + 1e-6
    assert np.all(err <= bound), (err / bound).max()


def test_hadamard_is_orthogonal_up_to_n():
    h = F.Hadamard(32).make().astype(F64)
    assert np.array_equal(h @ h.T, 32 * np.eye(32)) and set(np.unique(h)) == {-1.0, 1.0}


def test_query_unrotates_to_the_float64_formula():
    cfg = SMALL
    T, IH, ID, R = cfg.tokens, cfg.indexer_heads, cfg.indexer_dim, cfg.rope_dim
    inp, out = _run(F.q_case("prop", cfg, seed=50))
    q = (inp["qr"].astype(F64) @ inp["idx_wq_b"].astype(F64)) * inp["qr_scale"] * inp["idx_wq_b_scale"]
    q = q.reshape(T, IH, ID)
    cos, sin = inp["rope_cos"].astype(F64)[:, None], inp["rope_sin"].astype(F64)[:, None]
    x0, x1 = q[:, :, ID - R::2].copy(), q[:, :, ID - R + 1::2].copy()
    q[:, :, ID - R::2], q[:, :, ID - R + 1::2] = x0 * cos - x1 * sin, x0 * sin + x1 * cos
    back = _unrotate(out["q_i8"], out["q_scale"], inp["hadamard"])
    _within_quant_error(back, q.reshape(T * IH, ID), out["q_scale"], 2.0 ** -8)
    # the rotation keeps the norm: a missing or doubled ID^-0.5 would be off by sqrt(ID)
    ratio = np.linalg.norm(out["q_i8"] * out["q_scale"], axis=1) / np.linalg.norm(q.reshape(T * IH, ID), axis=1)
    assert np.allclose(ratio, 1.0, atol=0.05)


def test_head_weights_are_the_formula():
    cfg = SMALL
    inp, out = _run(F.q_case("prop", cfg, seed=60))
    want = inp["x"].astype(F64) @ inp["weights_proj"].astype(F64) / (cfg.indexer_heads * cfg.indexer_dim) ** 0.5
    np.testing.assert_allclose(out["head_w"], want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


def test_keys_unrotate_to_the_normed_rows_and_only_closing_tokens_write():
    cfg = SMALL
    case = F.kv_case("prop", cfg, seed=70)
    inp, out = _run(case)
    slots = inp["cmp_slot"][:, 0]
    written = np.flatnonzero(np.abs(out["k_cache"].astype(F64)).sum(axis=1))
    assert sorted(written) == sorted(slots[slots >= 0]) and len(written) > 0
    assert np.array_equal(np.flatnonzero(out["k_scale"][0]), written)
    # the normed BF16 rows, replayed with the golden's pooling (the states as the kernel leaves them
    # are after the shift, so replay from the inputs)
    normed = _normed_rows(inp, cfg)
    rows = [(t, s) for t, s in enumerate(slots) if s >= 0]
    back = _unrotate(out["k_cache"][[s for _, s in rows]], out["k_scale"][0, [s for _, s in rows]][:, None],
                     inp["hadamard"])
    want = np.stack([normed[t] for t, _ in rows])
    _within_quant_error(back, want, out["k_scale"][0, [s for _, s in rows]][:, None], 2.0 ** -8)


def _normed_rows(inp, cfg):
    """{t: the normed, RoPE'd BF16 key row of closing token t, as float64} (compressor_cases)."""
    at_id = cfg.with_(head_dim=cfg.indexer_dim)
    kv_state, score_state = inp["kv_state"].copy(), inp["score_state"].copy()
    kv, gate = C.project(inp["x"], inp["wkv"]), C.project(inp["x"], inp["wgate"], inp["ape"][inp["ape_row"][:, 0]])
    out = {}
    for t in range(cfg.tokens):
        row, dst, base = inp["state_slot"][t, 0], inp["cmp_slot"][t, 0], inp["pool_base"][t, 0]
        if row >= 0:
            kv_state[row], score_state[row] = kv[t], gate[t]
        if dst >= 0:
            y = C.pool(kv_state, score_state, base, 4, True, cfg.indexer_dim)
            out[t] = C.norm_rope(y, inp["gamma"], inp["rope_cos"][t], inp["rope_sin"][t], at_id)[0].astype(F64)
            kv_state[base:base + 4] = kv_state[base + 4:base + 8].copy()
            score_state[base:base + 4] = score_state[base + 4:base + 8].copy()
    return out


@pytest.mark.parametrize("tokens", [SMALL.tokens, 1])
def test_no_slots_changes_nothing(tokens):
    case = F.kv_case("prop", SMALL.with_(tokens=tokens), seed=80, none=True)
    inp, out = _run(case)
    for name in ("kv_state", "score_state", "k_cache", "k_scale"):
        assert out[name].tobytes() == inp[name].tobytes()
