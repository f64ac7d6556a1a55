"""Dtype-faithful numpy semantics of the compute ops: the executable specification.

Rules (each op rounds once, to its result dtype):
  * float elementwise arithmetic runs in FP32 (exact IEEE single for FP32 operands), transcendental
    functions in FP64; the result is rounded to the op's dtype with round-to-nearest-even.
  * reductions accumulate in FP32 (numpy's pairwise order); matmul accumulates BF16/FP16/FP32 in
    FP32 and INT8 x INT8 exactly in INT32.
  * integer arithmetic wraps in the result dtype; `floordiv`/`mod` follow Python (floor) semantics.
  * casts: float -> int rounds by the named mode, then saturates (NaN -> 0); int -> int wraps;
    to a narrower float it rounds by the mode (rint = nearest-even, the default).
"""
from __future__ import annotations

import numpy as np

from ..ir import ops
from ..ir.types import FP32, DType

F32 = np.float32
F64 = np.float64


def as_compute(x: np.ndarray | np.generic, dtype: DType) -> np.ndarray:
    if dtype.is_float:
        return np.asarray(x, dtype=F32)
    return np.asarray(x, dtype=np.int64) if dtype.kind != "bool" else np.asarray(x, dtype=np.bool_)


def to_dtype(x: np.ndarray, dtype: DType) -> np.ndarray:
    if dtype.is_float and x.dtype == F64:
        x = x.astype(F32)
    return np.asarray(x).astype(dtype.np)


def _int_floordiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise ZeroDivisionError("integer division by zero")
    return np.floor_divide(a, b)


def _int_mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise ZeroDivisionError("integer modulo by zero")
    return np.mod(a, b)


def _int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise ZeroDivisionError("integer division by zero")
    return np.trunc(a / b).astype(np.int64)


BINARY = {
    ops.Add: np.add, ops.Sub: np.subtract, ops.Mul: np.multiply, ops.Maximum: np.maximum,
    ops.Minimum: np.minimum, ops.Eq: np.equal, ops.Ne: np.not_equal, ops.Lt: np.less,
    ops.Le: np.less_equal, ops.Gt: np.greater, ops.Ge: np.greater_equal,
}
FLOAT_BINARY = {ops.Div: np.divide, ops.Floordiv: np.floor_divide, ops.Mod: np.mod}
INT_BINARY = {ops.Div: _int_div, ops.Floordiv: _int_floordiv, ops.Mod: _int_mod}


def binary(cls: type, a, b, operand: DType, result: DType) -> np.ndarray:
    x, y = as_compute(a, operand), as_compute(b, operand)
    fn = BINARY.get(cls) or (FLOAT_BINARY if operand.is_float else INT_BINARY)[cls]
    with np.errstate(all="ignore"):
        return to_dtype(fn(x, y), result)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


UNARY_F64 = {ops.Exp: np.exp, ops.Log: np.log, ops.Sqrt: np.sqrt, ops.Rsqrt: lambda x: 1.0 / np.sqrt(x),
             ops.Recip: lambda x: 1.0 / x, ops.Sigmoid: _sigmoid}
UNARY_EXACT = {ops.Abs: np.abs, ops.Neg: np.negative, ops.Relu: lambda x: np.maximum(x, 0)}


def unary(cls: type, a, dtype: DType) -> np.ndarray:
    with np.errstate(all="ignore"):
        if cls in UNARY_F64:
            return to_dtype(UNARY_F64[cls](np.asarray(a, dtype=F64)), dtype)
        return to_dtype(UNARY_EXACT[cls](as_compute(a, dtype)), dtype)


REDUCE = {ops.RowSum: np.sum, ops.RowMax: np.max, ops.RowMin: np.min,
          ops.ColSum: np.sum, ops.ColMax: np.max, ops.ColMin: np.min}


def reduce(cls: type, a: np.ndarray, dtype: DType) -> np.ndarray:
    x = as_compute(a, dtype)
    return to_dtype(REDUCE[cls](x, axis=cls.axis, keepdims=True), dtype)


EXPAND = {ops.RowExpand: lambda s, v: np.broadcast_to(v, s.shape), ops.ColExpand: lambda s, v: np.broadcast_to(v, s.shape),
          ops.RowExpandAdd: np.add, ops.RowExpandSub: np.subtract, ops.RowExpandMul: np.multiply,
          ops.RowExpandDiv: np.divide, ops.ColExpandAdd: np.add, ops.ColExpandSub: np.subtract,
          ops.ColExpandMul: np.multiply, ops.ColExpandDiv: np.divide}


def expand(cls: type, src: np.ndarray, vec: np.ndarray, dtype: DType) -> np.ndarray:
    with np.errstate(all="ignore"):
        return to_dtype(np.array(EXPAND[cls](as_compute(src, dtype), as_compute(vec, dtype))), dtype)


def matmul(a: np.ndarray, b: np.ndarray, a_trans: bool, b_trans: bool, out: DType) -> np.ndarray:
    a = a.T if a_trans else a
    b = b.T if b_trans else b
    if a.dtype == np.int8:
        # FP64 products and sums of INT8 values are exact up to 2**53: K <= 2**38 rows.
        return (a.astype(F64) @ b.astype(F64)).astype(np.int64).astype(np.int32)
    return to_dtype(a.astype(F32) @ b.astype(F32), out)


def matmul_acc(acc: np.ndarray, a: np.ndarray, b: np.ndarray, a_trans: bool, b_trans: bool) -> np.ndarray:
    prod = matmul(a, b, a_trans, b_trans, FP32)
    if acc.dtype == np.int32:
        return (acc.astype(np.int64) + prod).astype(np.int32)
    return (acc.astype(F32) + prod.astype(F32)).astype(F32)


_ROUND = {"rint": np.rint, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
          "round": lambda x: np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5))}


def cast(a, src: DType, dst: DType, mode: str) -> np.ndarray:
    x = np.asarray(a)
    if dst == src:
        return x.astype(dst.np)
    if src.is_float and (dst.is_int or dst.kind == "bool"):
        if dst.kind == "bool":
            return x.astype(F64) != 0
        info = np.iinfo(dst.np)
        r = _ROUND[mode](x.astype(F64))
        r = np.where(np.isnan(r), 0, np.clip(r, info.min, info.max))
        return r.astype(dst.np)
    if src.is_float and dst.is_float:
        return _float_narrow(x.astype(F64), dst, mode)
    return x.astype(np.int64).astype(dst.np) if dst.is_int else x.astype(dst.np)


def _float_narrow(x: np.ndarray, dst: DType, mode: str) -> np.ndarray:
    """Round FP64 values to a float dtype by `mode` (nearest-even first, then corrected)."""
    nearest = x.astype(F32).astype(dst.np) if dst.np != F64 else x
    if mode == "rint":
        return nearest
    back = nearest.astype(F64)
    up = _step(nearest, dst, +1)
    down = _step(nearest, dst, -1)
    if mode == "floor":
        return np.where(back > x, down, nearest)
    if mode == "ceil":
        return np.where(back < x, up, nearest)
    if mode == "trunc":
        return np.where(np.abs(back) > np.abs(x), np.where(x > 0, down, up), nearest)
    # round: ties away from zero
    other = np.where(back > x, down, up)
    tie = np.abs(other.astype(F64) - x) == np.abs(back - x)
    away = np.abs(other.astype(F64)) > np.abs(back)
    return np.where(tie & away, other, nearest)


def _step(v: np.ndarray, dst: DType, direction: int) -> np.ndarray:
    """The neighbouring representable value of `dst` in `direction` (finite values only)."""
    bits = {8: np.uint8, 16: np.uint16, 32: np.uint32}[dst.bits]
    u = v.view(bits).astype(np.int64)
    sign = (u >> (dst.bits - 1)) & 1
    magnitude_step = np.where(sign == 1, -direction, direction)
    zero = (u & ((1 << (dst.bits - 1)) - 1)) == 0
    smallest = np.where(direction > 0, 1, (1 << (dst.bits - 1)) | 1)
    stepped = np.where(zero, smallest, u + magnitude_step)
    return stepped.astype(bits).view(dst.np)
