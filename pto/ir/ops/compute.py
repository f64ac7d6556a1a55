"""Compute ops: elementwise, comparisons, select, casts, reductions, broadcasts, matmul.

No implicit promotion: operands of one op share a dtype (`pl.cast` converts). A scalar operand
broadcasts over a tensor operand. Reductions keep the reduced dimension (size 1).
"""
from __future__ import annotations

from ..core import BOOL as BOOL_FIELD
from ..core import DTYPE, STR, V, IRTypeError, Op, register
from ..types import BF16, BOOL, FP16, FP32, INT8, INT32, DType, ScalarType, TensorType, Type

ROUNDING_MODES = ("rint", "round", "floor", "ceil", "trunc")


def _shape_str(t: Type) -> str:
    return f"{t.dtype.name}{list(t.shape)}" if isinstance(t, TensorType) else f"scalar {t.dtype.name}"


def _same_kind(op: Op, a: Type, b: Type) -> Type:
    """The common type of two elementwise operands (tensor wins over scalar), or an error."""
    if a.dtype != b.dtype:
        raise IRTypeError(f"{op.name}: dtype mismatch: {_shape_str(a)} vs {_shape_str(b)}; "
                          f"insert pl.cast to make them agree")
    if isinstance(a, TensorType) and isinstance(b, TensorType) and a.shape != b.shape:
        raise IRTypeError(f"{op.name}: shape mismatch: {list(a.shape)} vs {list(b.shape)} "
                          f"(use row_expand_*/col_expand_* to broadcast)")
    return a if isinstance(a, TensorType) else b


class Binary(Op):
    fields = {"lhs": V, "rhs": V}

    def infer(self) -> list[Type]:
        return [_same_kind(self, self.lhs.type, self.rhs.type)]


class Compare(Binary):
    def infer(self) -> list[Type]:
        t = _same_kind(self, self.lhs.type, self.rhs.type)
        return [TensorType(t.shape, BOOL) if isinstance(t, TensorType) else ScalarType(BOOL)]


class Unary(Op):
    fields = {"src": V}
    float_only = True

    def infer(self) -> list[Type]:
        t = self.src.type
        if self.float_only and not t.dtype.is_float:
            raise IRTypeError(f"{self.name} needs a floating-point operand, got {_shape_str(t)}")
        return [t]


def _declare(base: type, names: str, **extra) -> dict[str, type]:
    out = {}
    for n in names.split():
        cls_name = "".join(p.capitalize() for p in n.split("_"))
        cls = type(cls_name, (base,), {"name": f"pl.{n}", "__doc__": f"Elementwise `{n}`.", **extra})
        out[cls_name] = register(cls)
    return out


_BINARY = _declare(Binary, "add sub mul div maximum minimum floordiv mod")
_COMPARE = _declare(Compare, "eq ne lt le gt ge")
_UNARY_FLOAT = _declare(Unary, "exp log sqrt rsqrt recip sigmoid")
_UNARY_ANY = _declare(Unary, "abs neg relu", float_only=False)
globals().update({**_BINARY, **_COMPARE, **_UNARY_FLOAT, **_UNARY_ANY})
BINARY_OPS = tuple(_BINARY.values()) + tuple(_COMPARE.values())
UNARY_OPS = tuple(_UNARY_FLOAT.values()) + tuple(_UNARY_ANY.values())


@register
class Where(Op):
    """`cond ? lhs : rhs` elementwise; cond is BOOL."""

    name = "pl.where"
    fields = {"cond": V, "lhs": V, "rhs": V}

    def infer(self) -> list[Type]:
        t = _same_kind(self, self.lhs.type, self.rhs.type)
        c = self.cond.type
        if c.dtype != BOOL:
            raise IRTypeError(f"pl.where condition must be BOOL, got {_shape_str(c)}")
        if isinstance(c, TensorType) and isinstance(t, TensorType) and c.shape != t.shape:
            raise IRTypeError(f"pl.where: condition shape {list(c.shape)} vs values {list(t.shape)}")
        return [TensorType(c.shape, t.dtype) if isinstance(c, TensorType) and isinstance(t, ScalarType) else t]


@register
class Cast(Op):
    """Convert to `dtype` rounding as `mode` says; float -> int saturates (NaN -> 0)."""

    name = "pl.cast"
    fields = {"src": V, "dtype": DTYPE, "mode": STR}

    def infer(self) -> list[Type]:
        if self.mode not in ROUNDING_MODES:
            raise IRTypeError(f"pl.cast mode '{self.mode}' is not one of {', '.join(ROUNDING_MODES)}")
        t = self.src.type
        return [TensorType(t.shape, self.dtype) if isinstance(t, TensorType) else ScalarType(self.dtype)]


class Reduce(Op):
    fields = {"src": V}
    axis = -1

    def infer(self) -> list[Type]:
        t = self.src.type
        if not isinstance(t, TensorType) or len(t.shape) != 2:
            raise IRTypeError(f"{self.name} needs a 2-D tile, got {_shape_str(t)}")
        shape = list(t.shape)
        shape[self.axis] = 1
        return [TensorType(tuple(shape), t.dtype)]


_REDUCE = _declare(Reduce, "row_sum row_max row_min")
_REDUCE.update(_declare(Reduce, "col_sum col_max col_min", axis=-2))
globals().update(_REDUCE)
REDUCE_OPS = tuple(_REDUCE.values())


class Expand(Op):
    """`src [M,N]` combined with `vec` broadcast along one axis ([M,1] rows or [1,N] columns)."""

    fields = {"src": V, "vec": V}
    axis = -1  # the axis along which vec has extent 1

    def infer(self) -> list[Type]:
        s, v = self.src.type, self.vec.type
        if not (isinstance(s, TensorType) and isinstance(v, TensorType) and len(s.shape) == 2 == len(v.shape)):
            raise IRTypeError(f"{self.name} needs two 2-D tiles, got {_shape_str(s)} and {_shape_str(v)}")
        want = list(s.shape)
        want[self.axis] = 1
        if list(v.shape) != want:
            raise IRTypeError(f"{self.name}: the broadcast operand must have shape {want} for a "
                              f"{list(s.shape)} tile, got {list(v.shape)}")
        if s.dtype != v.dtype:
            raise IRTypeError(f"{self.name}: dtype mismatch: {_shape_str(s)} vs {_shape_str(v)}")
        return [s]


# row_expand*: vec is [M,1] (one value per row); col_expand*: vec is [1,N] (one value per column).
# The plain forms return vec broadcast to src's shape (src only gives the shape).
_EXPAND = _declare(Expand, "row_expand row_expand_add row_expand_sub row_expand_mul row_expand_div")
_EXPAND.update(_declare(Expand, "col_expand col_expand_add col_expand_sub col_expand_mul col_expand_div",
                        axis=-2))
globals().update(_EXPAND)
EXPAND_OPS = tuple(_EXPAND.values())


def matmul_result_dtype(a: DType, b: DType, out: DType | None) -> DType:
    if a != b:
        raise IRTypeError(f"matmul operands must share a dtype, got {a.name} and {b.name}")
    if a == INT8:
        if out not in (None, INT32):
            raise IRTypeError(f"INT8 x INT8 matmul accumulates in INT32, not {out.name}")
        return INT32
    if a in (BF16, FP16, FP32):
        if out is not None and out not in (FP32, BF16, FP16):
            raise IRTypeError(f"matmul of {a.name} cannot produce {out.name}")
        return out or FP32
    raise IRTypeError(f"matmul does not support {a.name} operands")


def matmul_shape(op: Op, a: Type, b: Type) -> tuple[int, int]:
    if not (isinstance(a, TensorType) and isinstance(b, TensorType) and len(a.shape) == 2 == len(b.shape)):
        raise IRTypeError(f"{op.name} needs two 2-D tiles, got {_shape_str(a)} and {_shape_str(b)}")
    m, ka = a.shape[::-1] if op.a_trans else a.shape
    kb, n = b.shape[::-1] if op.b_trans else b.shape
    if ka != kb:
        raise IRTypeError(f"{op.name}: inner dimensions differ: lhs {list(a.shape)}"
                          f"{' (transposed)' if op.a_trans else ''} vs rhs {list(b.shape)}"
                          f"{' (transposed)' if op.b_trans else ''} ({ka} != {kb})")
    return m, n


@register
class Matmul(Op):
    """`lhs @ rhs` on the cube unit; BF16/FP16 accumulate in FP32, INT8 in INT32."""

    name = "pl.matmul"
    fields = {"lhs": V, "rhs": V, "a_trans": BOOL_FIELD, "b_trans": BOOL_FIELD, "out_dtype": DTYPE}
    optional = frozenset({"out_dtype"})

    def infer(self) -> list[Type]:
        m, n = matmul_shape(self, self.lhs.type, self.rhs.type)
        return [TensorType((m, n), matmul_result_dtype(self.lhs.type.dtype, self.rhs.type.dtype, self.out_dtype))]


@register
class MatmulAcc(Op):
    """`acc + lhs @ rhs`, accumulating in acc's dtype (FP32 or INT32)."""

    name = "pl.matmul_acc"
    fields = {"acc": V, "lhs": V, "rhs": V, "a_trans": BOOL_FIELD, "b_trans": BOOL_FIELD}

    def infer(self) -> list[Type]:
        m, n = matmul_shape(self, self.lhs.type, self.rhs.type)
        acc = self.acc.type
        want = TensorType((m, n), matmul_result_dtype(self.lhs.type.dtype, self.rhs.type.dtype, None))
        if acc != want:
            raise IRTypeError(f"pl.matmul_acc: accumulator is {_shape_str(acc)}, the product is {_shape_str(want)}")
        return [acc]
