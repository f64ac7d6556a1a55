"""qkv_proj_rope (models/deepseek_v4/qkv_proj_rope.py): properties of the kernel's own outputs that
do not go through its golden: qr * qr_scale reconstructs the FP64 RMSNorm(x @ wq_a) * gamma to half
a quant step, every query head comes out RMS-normalized, and RoPE only turns the rope pairs."""
from __future__ import annotations

import numpy as np

from models.deepseek_v4.config import SMALL
from models.deepseek_v4.qkv_proj_rope import case, qkv_proj_rope_entry

CFG = SMALL.with_(tokens=4)
CASE = case("props", CFG, seed=4242)


def _run(**changes):
    """The kernel's outputs (FP64) on the case's inputs with `changes` substituted."""
    args = {**CASE.make_inputs(), **changes}
    qkv_proj_rope_entry(**args, cfg=CFG)
    return {k: args[k].astype(np.float64) for k in ("q", "kv", "qr", "qr_scale")}, args


def test_qr_reconstructs_the_normed_query_lora_within_half_a_step():
    out, a = _run()
    qa = a["x"].astype(np.float64) @ a["wq_a"].astype(np.float64)
    qn = qa / np.sqrt((qa ** 2).mean(axis=1, keepdims=True) + CFG.rms_eps) * a["gamma_cq"].astype(np.float64)
    scale = out["qr_scale"]
    np.testing.assert_allclose(scale, np.abs(qn).max(axis=1, keepdims=True) / 127, rtol=1e-5)
    err = np.abs(out["qr"] * scale - qn)
    # half a step from rint, plus the FP32 (not FP64) projection and norm: a few ulps of |qn|
    assert np.all(err <= scale / 2 + 1e-5 * np.abs(qn).max(axis=1, keepdims=True))
    assert np.all(np.abs(out["qr"]).max(axis=1) == 127)  # the row's amax lands on the full range


def test_every_query_head_is_rms_normalized():
    out, _ = _run()
    q = out["q"]                                     # [T, heads, head_dim]
    # the rotation keeps each pair's norm, so the whole head keeps RMS 1; BF16 rounding moves it ~2**-9
    np.testing.assert_allclose(np.sqrt((q ** 2).mean(axis=-1)), 1.0, atol=4e-3)
    assert np.abs(q[..., :CFG.nope_dim]).max() > 1.5  # a real spread, not all ones


def test_rope_turns_only_the_rope_pairs_and_keeps_their_norms():
    out, a = _run()
    ident, _ = _run(rope_cos=np.ones_like(a["rope_cos"]), rope_sin=np.zeros_like(a["rope_sin"]))
    nope = CFG.nope_dim
    for name in ("q", "kv"):
        rot, still = out[name], ident[name]
        assert np.array_equal(rot[..., :nope], still[..., :nope]), name
        assert not np.allclose(rot[..., nope:], still[..., nope:], atol=1e-2), name
        pair_norm = [np.hypot(v[..., nope::2], v[..., nope + 1::2]) for v in (rot, still)]
        # each side is one BF16 rounding (2**-9 relative) of the FP32 pair
        np.testing.assert_allclose(pair_norm[0], pair_norm[1], rtol=2 ** -7, atol=1e-6)
