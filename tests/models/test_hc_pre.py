"""hc_pre (models/deepseek_v4/hc_pre.py): the golden is the FP64 formula up to FP32 rounding; the
kernel's comb is doubly stochastic and its post gate lies in (0, 2); without eps, doubling the
residual stream doubles x_mixed and leaves post and comb bit for bit (RMS normalisation is scale-free)."""
from __future__ import annotations

import ml_dtypes
import numpy as np

from models.deepseek_v4.config import SMALL
from models.deepseek_v4.hc_pre import golden, hc_pre_entry

CFG = SMALL
HC, T, D = CFG.hc_mult, 3, CFG.hidden
MIX = (2 + HC) * HC


def _inputs(seed=0):
    """x_hc [T, hc, D], hc_fn [mix, hc * D], hc_scale [1, 3], hc_base [1, mix], all FP32."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((T, HC, D)).astype(np.float32),
            (rng.standard_normal((MIX, HC * D)) * 0.05).astype(np.float32),
            rng.uniform(0.02, 0.25, (1, 3)).astype(np.float32),
            rng.uniform(-4, 4, (1, MIX)).astype(np.float32))


def _outputs():
    return np.zeros((T, D), ml_dtypes.bfloat16), np.zeros((T, HC), np.float32), np.zeros((T, HC * HC), np.float32)


def _formula(cfg, x, fn, scale, base):
    """The FP64 reference: (x_mixed before its BF16 rounding, post, comb [T, hc, hc])."""
    x, fn, scale, base = (a.astype(np.float64) for a in (x, fn, scale[0], base[0]))
    flat = x.reshape(T, -1)
    mixes = flat @ fn.T / np.sqrt((flat ** 2).mean(axis=1, keepdims=True) + cfg.rms_eps)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    pre = sig(mixes[:, :HC] * scale[0] + base[:HC]) + cfg.hc_eps
    post = 2 * sig(mixes[:, HC:2 * HC] * scale[1] + base[HC:2 * HC])
    c = (mixes[:, 2 * HC:] * scale[2] + base[2 * HC:]).reshape(T, HC, HC)
    c = np.exp(c - c.max(axis=2, keepdims=True))
    c = c / c.sum(axis=2, keepdims=True) + cfg.hc_eps
    c = c / (c.sum(axis=1, keepdims=True) + cfg.hc_eps)
    for _ in range(cfg.sinkhorn_iters - 1):
        c = c / (c.sum(axis=2, keepdims=True) + cfg.hc_eps)
        c = c / (c.sum(axis=1, keepdims=True) + cfg.hc_eps)
    return np.einsum("ti,tid->td", pre, x), post, c


def test_the_golden_is_the_fp64_formula():
    x, fn, scale, base = _inputs()
    got = golden(CFG, x, fn, scale, base, *_outputs())
    xm, post, comb = _formula(CFG, x, fn, scale, base)
    # post, comb: O(1) values through a K = 1024 FP32 dot product and 20 Sinkhorn rounds of a few
    # FP32 roundings each (observed ~1e-7); 1e-6 is ~10 ulps of 1 and still catches the eps
    # placement (every hc_eps dropped moves comb by ~1e-5; a dropped scale or base by O(1))
    np.testing.assert_allclose(got["post"], post, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["comb"].reshape(T, HC, HC), comb, rtol=0, atol=1e-6)
    # x_mixed: one BF16 rounding (2**-8 relative) on top of FP32 sums of O(1) terms
    np.testing.assert_allclose(got["x_mixed"].astype(np.float64), xm, rtol=2.0 ** -8, atol=1e-6)


def test_comb_is_doubly_stochastic_and_post_is_a_gate():
    x, fn, scale, base = _inputs(1)
    x_mixed, post, comb = _outputs()
    hc_pre_entry(x, fn, scale, base, x_mixed, post, comb, CFG)
    m = comb.reshape(T, HC, HC).astype(np.float64)
    assert (m > 0).all() and ((post > 0) & (post < 2)).all()
    # the last step divides by the column sums (+ eps): columns are 1 up to eps / sum
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=0, atol=1e-5)
    # rows only converge: 20 rounds leave ~4e-6 here (5 rounds ~1e-2, 1 round ~0.17)
    np.testing.assert_allclose(m.sum(axis=2), 1.0, rtol=0, atol=1e-4)


def test_doubling_the_stream_without_eps_is_exact():
    cfg = CFG.with_(rms_eps=0.0)
    x, fn, scale, base = _inputs(2)
    one, two = _outputs(), _outputs()
    hc_pre_entry(x, fn, scale, base, *one, cfg)
    hc_pre_entry(x * 2, fn, scale, base, *two, cfg)
    # sums of squares scale by 4 and rsqrt by 1/2 exactly, so the mixes keep every bit
    assert two[1].tobytes() == one[1].tobytes() and two[2].tobytes() == one[2].tobytes()
    assert np.array_equal(two[0].astype(np.float32), one[0].astype(np.float32) * 2)
