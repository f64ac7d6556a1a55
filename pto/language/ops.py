"""The op functions of `pl` (DESIGN.md §2). Each checks its arguments, emits one IR op (or a few)
and returns handles. Python numbers become constants of the other operand's dtype; there is no
implicit promotion between tensor dtypes.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

from ..errors import PlTypeError, PlValueError
from ..frontend import builder as B
from ..frontend.affine import Affine
from ..frontend.handles import Scalar, Tensor, Traced, check_writable, require_tensor, wrap
from ..frontend.source import assigned_name, user_loc
from ..ir import ops
from ..ir.core import Value
from ..ir.types import BOOL, FP32, INDEX, INT32, DType, ScalarType

Number = (int, float, bool)


def _emit(cls, **fields) -> Value:
    return B.active().emit(cls, **fields)[0]


def const(value: Any, dtype: DType = INDEX) -> Scalar:
    """A traced scalar constant."""
    return wrap(_emit(ops.Const, value=_coerce_number(value, dtype), dtype=dtype))


def _coerce_number(x: Any, dtype: DType) -> int | float:
    if dtype.is_float:
        return float(x)
    if dtype == BOOL:
        return int(bool(x))
    if isinstance(x, float) and not x.is_integer():
        raise PlTypeError(f"the constant {x} is used with {dtype.name} values; write an integer", user_loc())
    return int(x)


def _operand(x: Any, like: DType | None) -> Value:
    if isinstance(x, Traced):
        return x.value
    if isinstance(x, Number):
        dtype = like or (INDEX if isinstance(x, int) else FP32)
        return const(x, dtype).value
    raise PlTypeError(f"expected a tensor, scalar or number, got {type(x).__name__}", user_loc())


def _widen_index(v: Value) -> Value:
    if isinstance(v.type, ScalarType) and v.type.dtype.is_int and v.type.dtype != INDEX:
        return _emit(ops.Cast, src=v, dtype=INDEX, mode="trunc")
    return v


def binary(cls, a: Any, b: Any) -> Tensor | Scalar:
    if isinstance(a, Number) and isinstance(b, Number):
        raise PlTypeError("both operands are Python numbers; compute them in Python", user_loc())
    if cls in (ops.Add, ops.Sub) and isinstance(b, int) and b == 0 and isinstance(a, Scalar):
        return a  # i + 0 is i: keeps index expressions small
    like = (a if isinstance(a, Traced) else b).dtype
    va, vb = _operand(a, like), _operand(b, like)
    if _both_int_scalars(va, vb) and va.type.dtype != vb.type.dtype:
        va, vb = _widen_index(va), _widen_index(vb)  # scalar integer arithmetic widens to INDEX
    out = wrap(_emit(cls, lhs=va, rhs=vb))
    if isinstance(out, Scalar):
        out.affine = _affine_result(cls, a, b)
    return out


def _both_int_scalars(a: Value, b: Value) -> bool:
    return all(isinstance(v.type, ScalarType) and v.type.dtype.is_int for v in (a, b))


def affine_of(x: Any) -> Affine | None:
    """The affine form of an int or a traced integer scalar (None for anything else)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return Affine(frozenset(), x)
    if isinstance(x, Scalar) and x.dtype.is_int:
        return x.affine or Affine.of_atom(x._storage)
    return None


def _affine_result(cls, a: Any, b: Any) -> Affine | None:
    fa, fb = affine_of(a), affine_of(b)
    if fa is None or fb is None:
        return None
    if cls is ops.Add:
        return fa + fb
    if cls is ops.Sub:
        return fa - fb
    if cls is ops.Mul and (fa.is_const or fb.is_const):
        return fb.scale(fa.const) if fa.is_const else fa.scale(fb.const)
    return None


# --- elementwise --------------------------------------------------------------------------------
def _unary(cls, x: Any) -> Tensor | Scalar:
    if not isinstance(x, Traced):
        raise PlTypeError(f"{cls.name} expects a tensor or traced scalar, got {type(x).__name__}", user_loc())
    return wrap(_emit(cls, src=x.value))


def add(a, b): return binary(ops.Add, a, b)  # noqa: E704
def sub(a, b): return binary(ops.Sub, a, b)  # noqa: E704
def mul(a, b): return binary(ops.Mul, a, b)  # noqa: E704
def div(a, b): return binary(ops.Div, a, b)  # noqa: E704
def maximum(a, b): return binary(ops.Maximum, a, b)  # noqa: E704
def minimum(a, b): return binary(ops.Minimum, a, b)  # noqa: E704
def eq(a, b): return binary(ops.Eq, a, b)  # noqa: E704
def ne(a, b): return binary(ops.Ne, a, b)  # noqa: E704
def lt(a, b): return binary(ops.Lt, a, b)  # noqa: E704
def le(a, b): return binary(ops.Le, a, b)  # noqa: E704
def gt(a, b): return binary(ops.Gt, a, b)  # noqa: E704
def ge(a, b): return binary(ops.Ge, a, b)  # noqa: E704
def exp(x): return _unary(ops.Exp, x)  # noqa: E704
def log(x): return _unary(ops.Log, x)  # noqa: E704
def sqrt(x): return _unary(ops.Sqrt, x)  # noqa: E704
def rsqrt(x): return _unary(ops.Rsqrt, x)  # noqa: E704
def recip(x): return _unary(ops.Recip, x)  # noqa: E704
def sigmoid(x): return _unary(ops.Sigmoid, x)  # noqa: E704
def abs(x): return _unary(ops.Abs, x)  # noqa: E704,A001
def neg(x): return _unary(ops.Neg, x)  # noqa: E704
def relu(x): return _unary(ops.Relu, x)  # noqa: E704


def where(cond: Tensor, a: Any, b: Any) -> Tensor:
    if not isinstance(a, Traced) and not isinstance(b, Traced):
        raise PlTypeError("pl.where needs a tensor or traced scalar among its two values (their dtype is "
                          "the result's); write e.g. pl.where(c, pl.full(shape, pl.FP32, 1.0), 0.0)", user_loc())
    like = (a if isinstance(a, Traced) else b).dtype
    return wrap(_emit(ops.Where, cond=_operand(cond, BOOL), lhs=_operand(a, like), rhs=_operand(b, like)))


def cast(x: Any, dtype: DType | None = None, mode: str = "rint", *, target_type: DType | None = None):
    """Convert `x` to `dtype` (`target_type=` is accepted as the seeds spell it)."""
    dtype = dtype or target_type
    if dtype is None:
        raise PlTypeError("pl.cast needs a target dtype", user_loc())
    if not isinstance(x, Traced):
        raise PlTypeError(f"pl.cast expects a tensor or traced scalar, got {type(x).__name__}", user_loc())
    return wrap(_emit(ops.Cast, src=x.value, dtype=dtype, mode=mode))


def _reduce(cls, x: Tensor) -> Tensor:
    return wrap(_emit(cls, src=require_tensor(x, cls.name).value))


def row_sum(x): return _reduce(ops.RowSum, x)  # noqa: E704
def row_max(x): return _reduce(ops.RowMax, x)  # noqa: E704
def row_min(x): return _reduce(ops.RowMin, x)  # noqa: E704
def col_sum(x): return _reduce(ops.ColSum, x)  # noqa: E704
def col_max(x): return _reduce(ops.ColMax, x)  # noqa: E704
def col_min(x): return _reduce(ops.ColMin, x)  # noqa: E704


def _expand(cls, src: Tensor, vec: Tensor) -> Tensor:
    return wrap(_emit(cls, src=require_tensor(src, cls.name).value, vec=require_tensor(vec, cls.name).value))


def row_expand(target, vec): return _expand(ops.RowExpand, target, vec)  # noqa: E704
def row_expand_add(x, vec): return _expand(ops.RowExpandAdd, x, vec)  # noqa: E704
def row_expand_sub(x, vec): return _expand(ops.RowExpandSub, x, vec)  # noqa: E704
def row_expand_mul(x, vec): return _expand(ops.RowExpandMul, x, vec)  # noqa: E704
def row_expand_div(x, vec): return _expand(ops.RowExpandDiv, x, vec)  # noqa: E704
def col_expand(target, vec): return _expand(ops.ColExpand, target, vec)  # noqa: E704
def col_expand_add(x, vec): return _expand(ops.ColExpandAdd, x, vec)  # noqa: E704
def col_expand_sub(x, vec): return _expand(ops.ColExpandSub, x, vec)  # noqa: E704
def col_expand_mul(x, vec): return _expand(ops.ColExpandMul, x, vec)  # noqa: E704
def col_expand_div(x, vec): return _expand(ops.ColExpandDiv, x, vec)  # noqa: E704


def matmul(a: Tensor, b: Tensor, a_trans: bool = False, b_trans: bool = False,
           out_dtype: DType | None = None) -> Tensor:
    return wrap(_emit(ops.Matmul, lhs=require_tensor(a, "matmul lhs").value,
                      rhs=require_tensor(b, "matmul rhs").value, a_trans=bool(a_trans), b_trans=bool(b_trans),
                      out_dtype=out_dtype))


def matmul_acc(acc: Tensor, a: Tensor, b: Tensor, a_trans: bool = False, b_trans: bool = False) -> Tensor:
    return wrap(_emit(ops.MatmulAcc, acc=require_tensor(acc, "matmul_acc accumulator").value,
                      lhs=require_tensor(a, "matmul lhs").value, rhs=require_tensor(b, "matmul rhs").value,
                      a_trans=bool(a_trans), b_trans=bool(b_trans)))


# --- creation -----------------------------------------------------------------------------------
def _static_shape(shape: Sequence[Any], what: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except Exception:
        raise PlTypeError(f"{what} shape must be a list of compile-time ints, got {shape!r}", user_loc()) from None
    if any(d <= 0 for d in dims):
        raise PlTypeError(f"{what} shape {list(dims)} has a non-positive dimension", user_loc())
    return dims


def create_tensor(shape: Sequence[int], dtype: DType) -> Tensor:
    loc = user_loc()
    v = B.active().emit(ops.CreateTensor, loc=loc, shape=_static_shape(shape, "create_tensor"), dtype=dtype,
                        hints=(assigned_name(loc),))[0]
    return wrap(v, "scratch")


def full(shape: Sequence[int], dtype: DType = FP32, value: float = 0.0) -> Tensor:
    return wrap(_emit(ops.Full, shape=_static_shape(shape, "full"), dtype=dtype,
                      value=_coerce_number(value, dtype)))


def arange(shape: int | Sequence[int], dtype: DType = INT32, start: int = 0) -> Tensor:
    dims = (shape,) if isinstance(shape, int) else shape
    return wrap(_emit(ops.Arange, shape=_static_shape(dims, "arange"), dtype=dtype,
                      start=_coerce_number(start, dtype)))


# --- views, reads and writes --------------------------------------------------------------------
def _index(x: Any, what: str) -> int | Value:
    if isinstance(x, bool):
        raise PlTypeError(f"{what} must be an integer, got a bool", user_loc())
    if isinstance(x, int):
        return x
    if isinstance(x, Scalar):
        if not x.dtype.is_int:
            raise PlTypeError(f"{what} must be an integer, got a {x.dtype.name} scalar", user_loc())
        return x.value
    raise PlTypeError(f"{what} must be an int or a traced integer scalar, got {type(x).__name__}", user_loc())


def _indices(xs: Sequence[Any], what: str) -> tuple:
    return tuple(_index(x, what) for x in xs)


def slice(t: Tensor, sizes: Sequence[int], offsets: Sequence[Any]) -> Tensor:  # noqa: A001
    """A view `t[offsets : offsets + sizes]`."""
    t = require_tensor(t, "pl.slice source")
    return t.view(("slice", _indices(offsets, "slice offset"), _static_shape(sizes, "slice")))


def reshape(t: Tensor, shape: Sequence[int]) -> Tensor:
    """A view with a new shape. The source must be contiguous (a full tensor or a row block)."""
    t = require_tensor(t, "pl.reshape source")
    shape = _static_shape(shape, "reshape")
    _check_contiguous(t)
    return t.view(("reshape", shape))


def _check_contiguous(t: Tensor) -> None:
    v = t.value
    while isinstance(v.owner, (ops.Slice, ops.Reshape)):
        if isinstance(v.owner, ops.Slice):
            src_shape = v.owner.src.type.shape
            sizes = v.owner.sizes
            inner = next((i for i, (s, d) in enumerate(zip(sizes, src_shape)) if s != 1), len(sizes))
            if tuple(sizes[inner + 1:]) != tuple(src_shape[inner + 1:]):
                raise PlTypeError(f"reshape of a non-contiguous view {list(sizes)} of a {list(src_shape)} "
                                  f"tensor; load it first (pl.read(t, offsets, sizes)) or slice whole rows",
                                  user_loc())
        v = v.owner.src


def read(t: Tensor, offsets: Sequence[Any], sizes: Sequence[int] | None = None) -> Scalar | Tensor:
    """`pl.read(t, offsets)` reads one element; with `sizes` it copies a tile out."""
    t = require_tensor(t, "pl.read source")
    if sizes is None:
        return wrap(_emit(ops.Read, src=t.value, offsets=_indices(offsets, "pl.read offset")))
    view = slice(t, sizes, offsets)
    return wrap(_emit(ops.Load, src=view.value))


def write(t: Tensor, offsets: Sequence[Any], value: Any) -> None:
    """Store one element (a scalar write is a write like any other: later reads depend on it)."""
    t = require_tensor(t, "pl.write destination")
    check_writable(t)
    v = _operand(value, t.dtype)
    new = B.active().emit(ops.Write, dst=t.value, offsets=_indices(offsets, "pl.write offset"), value=v,
                          hints=(t._storage.next_version_hint(),))[0]
    B.active().set_current(t._storage, new)


def assemble(dst: Tensor, src: Tensor, offsets: Sequence[Any]) -> Tensor:
    """Write tile `src` into `dst` at `offsets`; returns `dst` (which now holds the write)."""
    dst = require_tensor(dst, "pl.assemble destination")
    src = require_tensor(src, "pl.assemble source")
    check_writable(dst)
    new = B.active().emit(ops.Assemble, dst=dst.value, src=src.value, offsets=_indices(offsets, "assemble offset"),
                          hints=(dst._storage.next_version_hint(),))[0]
    B.active().set_current(dst._storage, new)
    return dst


# --- subscripts ---------------------------------------------------------------------------------
def _parse_key(t: Tensor, key: Any) -> tuple[tuple, tuple[int, ...], list[int], bool]:
    """(offsets, sizes, dims to drop, all-integer) for `t[key]`."""
    key = key if isinstance(key, tuple) else (key,)
    if len(key) > t.ndim:
        raise PlTypeError(f"{len(key)} indices for a rank-{t.ndim} tensor {t.shape}", user_loc())
    key = key + (slice_all,) * (t.ndim - len(key))
    offsets, sizes, drop = [], [], []
    for d, (k, dim) in enumerate(zip(key, t.shape)):
        if isinstance(k, _pyslice):
            if k.step is not None:
                raise PlTypeError("slices with a step are not supported", user_loc())
            lo = 0 if k.start is None else k.start
            size = dim - lo if k.stop is None else _static_size(lo, k.stop)
            offsets.append(lo)
            sizes.append(size)
        else:
            offsets.append(k)
            sizes.append(1)
            drop.append(d)
    if any(isinstance(o, int) and o < 0 for o in offsets):
        raise PlValueError(f"negative index in {offsets}; pto does not wrap indices", user_loc())
    return tuple(offsets), tuple(sizes), drop, len(drop) == t.ndim


_pyslice = builtins.slice
slice_all = builtins.slice(None)


def _static_size(lo: Any, hi: Any) -> int:
    la, ha = affine_of(lo), affine_of(hi)
    size = None if la is None or ha is None else ha - la
    if size is None or not size.is_const:
        raise PlTypeError("slice bounds must differ by a compile-time constant (write t[i : i + 16])",
                          user_loc())
    return size.const


def subscript(t: Tensor, key: Any) -> Tensor | Scalar:
    offsets, sizes, drop, scalar = _parse_key(t, key)
    if scalar:
        return read(t, offsets)
    view = slice(t, sizes, offsets)
    if drop:
        kept = [s for d, s in enumerate(sizes) if d not in drop]
        view = reshape(view, kept)
    return view


def subscript_assign(t: Tensor, key: Any, value: Any) -> None:
    offsets, sizes, drop, scalar = _parse_key(t, key)
    if scalar:
        write(t, offsets, value)
        return
    src = require_tensor(value, "the value assigned to a tensor slice")
    if drop:
        src = reshape(src, list(sizes)) if src.ndim != len(sizes) else src
    if tuple(src.shape) != tuple(sizes):
        raise PlTypeError(f"assigning a {src.shape} tile to a {list(sizes)} slice", user_loc())
    assemble(t, src, offsets)



__all__ = [
    "const", "add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
    "exp", "log", "sqrt", "rsqrt", "recip", "sigmoid", "abs", "neg", "relu", "where", "cast",
    "row_sum", "row_max", "row_min", "col_sum", "col_max", "col_min",
    "row_expand", "row_expand_add", "row_expand_sub", "row_expand_mul", "row_expand_div",
    "col_expand", "col_expand_add", "col_expand_sub", "col_expand_mul", "col_expand_div",
    "matmul", "matmul_acc", "create_tensor", "full", "arange", "slice", "reshape", "read", "write",
    "assemble",
]
