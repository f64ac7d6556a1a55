"""rmsnorm (models/deepseek_v4/rmsnorm.py): its golden is the FP64 formula up to the final BF16
rounding, and a row scaled by a power of two normalizes to the same bits (RMSNorm is scale-free)."""
from __future__ import annotations

import ml_dtypes
import numpy as np

from models.deepseek_v4.rmsnorm import golden, rmsnorm_entry

EPS = 1e-6


def _x(t=4, d=1024, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((t, d)).astype(ml_dtypes.bfloat16), rng.uniform(0.5, 1.5, (1, d)).astype(ml_dtypes.bfloat16)


def test_the_golden_is_the_formula_to_one_bf16_rounding():
    x, g = _x()
    x64 = x.astype(np.float64)
    want = x64 / np.sqrt((x64 ** 2).mean(axis=1, keepdims=True) + EPS) * g.astype(np.float64)
    got = golden(EPS, x, g, np.zeros(x.shape, ml_dtypes.bfloat16))["y"].astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=2.0 ** -8, atol=0)


def test_a_power_of_two_scale_does_not_change_a_bit():
    x, g = _x(seed=1)
    y1, y2 = np.zeros_like(x), np.zeros_like(x)
    rmsnorm_entry(x, g, y1, EPS)
    rmsnorm_entry((x.astype(np.float32) * 4).astype(ml_dtypes.bfloat16), g, y2, EPS)  # exact in BF16
    # mean(x^2) scales by exactly 16 and rsqrt by exactly 1/4; only eps (1e-6 against O(16)) differs
    assert np.array_equal(y1.astype(np.float32), y2.astype(np.float32))
