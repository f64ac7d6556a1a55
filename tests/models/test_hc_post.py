"""hc_post (models/deepseek_v4/hc_post.py): the golden is the FP64 formula up to FP32 rounding, and
the kernel with an identity mix and no post term hands the residual stream through unchanged."""
from __future__ import annotations

import ml_dtypes
import numpy as np

from models.deepseek_v4.hc_post import golden, hc_post_entry

HC, T, D = 4, 3, 64


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((T, D)).astype(ml_dtypes.bfloat16), rng.standard_normal((T, HC, D)).astype(np.float32),
            rng.uniform(0, 2, (T, HC)).astype(np.float32), rng.uniform(0, 0.5, (T, HC * HC)).astype(np.float32))


def test_the_golden_is_the_formula():
    x, res, post, comb = _inputs()
    want = (post[:, :, None] * x.astype(np.float64)[:, None, :]
            + np.einsum("tio,tid->tod", comb.reshape(T, HC, HC).astype(np.float64), res.astype(np.float64)))
    got = golden(HC, x, res, post, comb, np.zeros((T, HC, D), np.float32))["y"]
    # five FP32 roundings of O(1) terms: a few ulps of the largest term
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-6 * np.abs(want).max())


def test_identity_mix_without_post_passes_the_residual_through():
    x, res, _, _ = _inputs(1)
    post = np.zeros((T, HC), np.float32)
    comb = np.tile(np.eye(HC, dtype=np.float32).reshape(1, -1), (T, 1))
    y = np.full((T, HC, D), np.nan, np.float32)
    hc_post_entry(x, res, post, comb, y, HC)
    assert y.tobytes() == res.tobytes()
