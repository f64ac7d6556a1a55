"""Found by the fuzzer's a2a3sim stage (programs 75, 83): an entry returning a view of a buffer
(`return out[2:6, :]`, a reshape of a scratch tensor) ran on the reference interpreter but a2a3sim
refused it (the orchestration hands back whole buffers, not windows).

Right behaviour: outlining copies a returned view into a buffer of its own, so the caller gets the
window's values as a whole tensor on every platform.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, exp32


@pl.jit
def returns_views(x: pl.Tensor[[8, 16], pl.FP32], out: pl.Out[pl.Tensor[[8, 16], pl.FP32]]):
    out[:, :] = pl.exp(x)
    scratch = pl.create_tensor([8, 16], pl.FP32)
    scratch[:, :] = pl.mul(x, 2.0)
    return out[2:6, :], pl.reshape(scratch, [16, 8])


def test_returned_views_come_back_as_whole_tensors_on_a2a3sim():
    x = np.random.default_rng(3).standard_normal((8, 16)).astype(np.float32)
    for platform in ("ref", "a2a3sim"):
        out = np.zeros_like(x)
        window, flat = returns_views(x, out, platform=platform)
        assert_bitwise(window, exp32(x)[2:6])
        assert_bitwise(flat, (x * np.float32(2.0)).reshape(16, 8))
