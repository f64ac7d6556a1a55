"""models/deepseek_v4 sparse attention beyond its case file (which tests/test_cases.py and the
a2a3sim tests run): the golden against a float64 formula, the edge cases' exact properties, manual
vs automatic scopes (bitwise equal outputs; memory at the Flash size), and one Flash run."""
import numpy as np
import pytest

from models.deepseek_v4 import sparse_attn_cases as C
from models.deepseek_v4.config import FLASH, SMALL
from models.deepseek_v4.sparse_attn_golden import attention_heads, inverse_rope
from models.deepseek_v4.sparse_attn_shape import AttnShape
from pto.analysis.scope_stats import scope_stats
from pto.passes.pipeline import compile_function
from pto.testing import run_case


def _f64_heads(q, kv_cache, win_idx, cmp_kv, cmp_idx, attn_sink, rope_cos, rope_sin, s):
    """Plain float64 attention with a sink logit: one softmax over all valid rows, no K-blocks."""
    out = np.zeros((s.tokens, s.heads, s.head_dim))
    for t in range(s.tokens):
        rows = [kv_cache[i] for i in win_idx[t] if i >= 0]
        if s.extra:
            rows += [cmp_kv[i] for i in cmp_idx[t] if i >= 0]
        if not rows:
            continue
        kv = np.array(rows, np.float64)
        logits = q[t].astype(np.float64) @ kv.T * s.head_dim ** -0.5
        m = np.maximum(logits.max(axis=1, keepdims=True), attn_sink[:, None])
        p = np.exp(logits - m)
        o = p @ kv / (p.sum(axis=1, keepdims=True) + np.exp(attn_sink[:, None] - m))
        c, sn = rope_cos[t].astype(np.float64), rope_sin[t].astype(np.float64)
        x0, x1 = o[:, s.nope_dim::2].copy(), o[:, s.nope_dim + 1::2].copy()
        o[:, s.nope_dim::2], o[:, s.nope_dim + 1::2] = x0 * c + x1 * sn, x1 * c - x0 * sn
        out[t] = o
    return out


@pytest.mark.parametrize("variant", ["swa", "hca", "csa"])
def test_golden_matches_float64_attention(variant):
    case = C.case(variant, SMALL, "manual", 40, seed=3, invalid_rows=(2,))
    inp = case.make_inputs()
    args = {k: inp.get(k) for k in ("q", "kv_cache", "win_idx", "cmp_kv", "cmp_idx", "attn_sink", "rope_cos", "rope_sin")}
    got = attention_heads(**args, s=case.consts["s"])
    want = _f64_heads(**args, s=case.consts["s"])
    # BF16 probabilities (rel 2^-8) and the BF16 output rounding bound the difference.
    assert np.abs(got - want).max() <= 2e-2 * np.abs(want).max()
    assert np.abs(want).max() > 0.1 and not got[2].any()


def test_inverse_rope_undoes_the_forward_rotation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    ang = rng.uniform(-3, 3, 8)
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    fwd = np.empty_like(x)  # the q/k RoPE: (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos)
    fwd[:, 0::2] = x[:, 0::2] * cos - x[:, 1::2] * sin
    fwd[:, 1::2] = x[:, 0::2] * sin + x[:, 1::2] * cos
    assert np.allclose(inverse_rope(fwd, cos, sin), x, atol=1e-5)


def test_all_invalid_rows_give_exactly_zero_and_others_do_not():
    case = C.case("csa", SMALL, "manual", 40, seed=30, invalid_rows=(0, 5, 15))
    outputs, comparisons = run_case(case)
    assert all(c.ok for c in comparisons)
    out = outputs["out"].astype(np.float32)
    assert not out[[0, 5, 15]].any()
    assert np.all(np.abs(out[[1, 2, 3, 14]]).max(axis=1) > 0)


def test_window_at_sequence_start_attends_only_its_positions():
    """Token t at position t sees t + 1 window rows; the tables hold -1 after them, and the kernel's
    output for token 0 equals the golden's (checked by run_case) while differing from token 1's."""
    case = C.case("swa", SMALL, "auto", 0, seed=21)
    win = case.make_inputs()["win_idx"]
    assert [int((r >= 0).sum()) for r in win] == list(range(1, SMALL.tokens + 1))
    outputs, comparisons = run_case(case)
    assert all(c.ok for c in comparisons)
    assert not np.array_equal(outputs["out"][0], outputs["out"][1])


def test_manual_and_auto_scopes_agree_bitwise():
    a, _ = run_case(C.case("hca", SMALL, "manual", 300, seed=7))
    b, _ = run_case(C.case("hca", SMALL, "auto", 300, seed=7))
    assert a["out"].tobytes() == b["out"].tobytes()


def _stats(case):
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    c = compile_function(compiled.function)
    plan = c.facts["memplan"]
    return scope_stats(c.program.entry, plan), plan


def test_flash_scope_stats_manual_vs_auto():
    """The thread's three scopes exist and release memory; automatic placement needs no more."""
    s = AttnShape(C._FLASH, "csa")
    manual_rows, manual = _stats(C.case("csa", C._FLASH, "manual", C._FLASH_START))
    auto_rows, auto = _stats(C.case("csa", C._FLASH, "auto", C._FLASH_START))
    assert [r.depth for r in manual_rows] == [0, 1, 1, 1]
    assert manual.workspace >= manual.lower_bound and auto.workspace >= auto.lower_bound
    assert auto.workspace <= manual.workspace
    # S2 (attention) holds at least the gathered KV and the per-block PV partial sums.
    assert manual_rows[2].peak >= s.tokens * s.topk * s.head_dim * 2 + s.blk_rows * s.head_dim * 4


def test_flash_csa_matches_golden():
    _, comparisons = run_case(C.case("csa", C._FLASH, "manual", C._FLASH_START))
    for c in comparisons:
        assert c.ok, c


def test_unknown_variant_is_rejected():
    with pytest.raises(ValueError, match="variant 'mla'"):
        AttnShape(FLASH, "mla")
