"""The interpreter's numerics against independent numpy references, one op family at a time."""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import pto.language as pl

BF16 = np.dtype(ml_dtypes.bfloat16)
rng = np.random.default_rng(7)


def run_unary(fn, x, out_dtype):
    @pl.jit
    def k(x, out: pl.Out):
        out[:, :] = fn(x)

    out = np.zeros(x.shape, out_dtype)
    k(x, out)
    return out


def test_bf16_elementwise_rounds_once_per_op():
    a = rng.standard_normal((8, 32)).astype(BF16)
    b = rng.standard_normal((8, 32)).astype(BF16)

    @pl.jit
    def k(a, b, out: pl.Out):
        out[:, :] = pl.mul(pl.add(a, b), b)

    out = np.zeros((8, 32), BF16)
    k(a, b, out)
    s = (a.astype(np.float32) + b.astype(np.float32)).astype(BF16)
    want = (s.astype(np.float32) * b.astype(np.float32)).astype(BF16)
    assert out.tobytes() == want.tobytes()


def test_int8_matmul_is_exact_int32():
    a = rng.integers(-128, 128, (16, 512)).astype(np.int8)
    b = rng.integers(-128, 128, (512, 32)).astype(np.int8)

    @pl.jit
    def k(a, b, out: pl.Out):
        out[:, :] = pl.matmul(a, b)

    out = np.zeros((16, 32), np.int32)
    k(a, b, out)
    np.testing.assert_array_equal(out, a.astype(np.int64) @ b.astype(np.int64))


def test_bf16_matmul_accumulates_in_fp32_with_transposes():
    a = rng.standard_normal((32, 16)).astype(BF16)
    b = rng.standard_normal((8, 32)).astype(BF16)

    @pl.jit
    def k(a, b, out: pl.Out):
        out[:, :] = pl.matmul(a, b, a_trans=True, b_trans=True)

    out = np.zeros((16, 8), np.float32)
    k(a, b, out)
    want = a.astype(np.float32).T @ b.astype(np.float32).T
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)  # fp32 sums, BLAS order


@pytest.mark.parametrize("mode", ["rint", "round", "floor", "ceil", "trunc"])
def test_cast_fp32_to_bf16_by_mode(mode):
    x = np.concatenate([rng.standard_normal(2000) * 10, [0.5, -0.5, 1.0, -3.0]]).astype(np.float32)
    # An independent reference: the two bf16 neighbours of every value, from the table of all bf16s.
    with np.errstate(invalid="ignore"):  # the table holds NaNs, dropped below
        table = np.arange(65536, dtype=np.uint16).view(BF16).astype(np.float64)
    table = np.unique(table[np.isfinite(table)])
    xd = x.astype(np.float64)
    hi = table[np.searchsorted(table, xd, side="left")]
    lo = table[np.searchsorted(table, xd, side="right") - 1]
    nearest_even = x.astype(BF16).astype(np.float64)
    dist_lo, dist_hi = xd - lo, hi - xd
    away = np.where(np.abs(hi) > np.abs(lo), hi, lo)
    want = {
        "rint": nearest_even,
        "floor": lo,
        "ceil": hi,
        "trunc": np.where(xd >= 0, lo, hi),
        "round": np.where(dist_lo == dist_hi, away, np.where(dist_lo < dist_hi, lo, hi)),
    }[mode]

    @pl.jit
    def k(x, out: pl.Out):
        out[:, :] = pl.cast(x, pl.BF16, mode=mode)

    out = np.zeros((1, x.size), BF16)
    k(x.reshape(1, -1), out)
    np.testing.assert_array_equal(out.astype(np.float64)[0], want)


@pytest.mark.parametrize("mode, want", [
    ("rint", [2, -2, 2, 127, -128, 0]), ("round", [3, -3, 2, 127, -128, 0]),
    ("floor", [2, -3, 1, 127, -128, 0]), ("ceil", [3, -2, 2, 127, -128, 0]),
    ("trunc", [2, -2, 1, 127, -128, 0]),
])
def test_cast_float_to_int8_rounds_then_saturates(mode, want):
    x = np.array([[2.5, -2.5, 1.5, 300.0, -1e9, np.nan]], np.float32)

    @pl.jit
    def k(x, out: pl.Out):
        out[:, :] = pl.cast(x, pl.INT8, mode=mode)

    out = np.zeros(x.shape, np.int8)
    k(x, out)
    np.testing.assert_array_equal(out[0], want)


def test_reductions_and_broadcasts_keep_dims():
    x = rng.standard_normal((6, 10)).astype(np.float32)
    r = rng.standard_normal((6, 1)).astype(np.float32)
    c = rng.standard_normal((1, 10)).astype(np.float32)

    @pl.jit
    def k(x, r, c, o1: pl.Out, o2: pl.Out, o3: pl.Out):
        o1[:, :] = pl.row_expand_mul(pl.col_expand_sub(x, c), r)
        o2[:, :] = pl.add(pl.row_max(x), pl.row_min(x))
        o3[:, :] = pl.col_sum(pl.col_expand(x, c))

    o1, o2, o3 = np.zeros((6, 10), np.float32), np.zeros((6, 1), np.float32), np.zeros((1, 10), np.float32)
    k(x, r, c, o1, o2, o3)
    np.testing.assert_array_equal(o1, (x - c) * r)
    np.testing.assert_array_equal(o2, x.max(1, keepdims=True) + x.min(1, keepdims=True))
    np.testing.assert_array_equal(o3, np.broadcast_to(c, (6, 10)).sum(0, keepdims=True, dtype=np.float32))


def test_transcendentals_round_from_fp64():
    x = rng.uniform(0.1, 4.0, (4, 16)).astype(np.float32)
    for fn, ref in ((pl.exp, np.exp), (pl.log, np.log), (pl.sqrt, np.sqrt),
                    (pl.rsqrt, lambda v: 1 / np.sqrt(v)), (pl.sigmoid, lambda v: 1 / (1 + np.exp(-v)))):
        out = run_unary(fn, x, np.float32)
        assert out.tobytes() == ref(x.astype(np.float64)).astype(np.float32).tobytes(), fn.__name__


def test_integer_scalar_arithmetic_is_python_floor_semantics():
    @pl.jit
    def k(a: pl.Scalar[pl.INT32], out: pl.Out[pl.Tensor[[1, 2], pl.INT32]]):
        pl.write(out, [0, 0], pl.cast(a // 4, pl.INT32))
        pl.write(out, [0, 1], pl.cast(a % 4, pl.INT32))

    out = np.zeros((1, 2), np.int32)
    k(-7, out)
    np.testing.assert_array_equal(out[0], [-7 // 4, -7 % 4])
