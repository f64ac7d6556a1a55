"""C++ spelling of orchestration scalars: types, literals and the expressions of scalar ops.

Requires: scalar ops of an orchestration function (operands already spelled as C++ expressions).
Produces: C++ expression strings with the semantics of pto/sim/numerics.py: integer arithmetic
wraps in the result dtype (computed in int64, then converted), `floordiv`/`mod` floor like Python,
FP32 arithmetic in float, transcendental functions in double rounded once to float, float -> int
casts round by the named mode and saturate (NaN -> 0). Orchestration arithmetic is on integers,
BOOL and FP32. A BF16 / FP16 / FP8 scalar (the AICPU has no such C++ type) is carried as its bits
in an unsigned integer of its width: it can be read, written and passed to a kernel, and any
arithmetic on it is rejected.

`Helpers` records which support functions and headers an expression needs; the template emits
exactly those (`pto_floordiv`, `pto_mod`, `pto_saturate<T>`, <cmath>).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import PtoError
from ..ir import ops
from ..ir.core import Op
from ..ir.types import DType

C_TYPES = {"fp32": "float", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
           "int64": "int64_t", "index": "int64_t", "bool": "bool"}
DATA_TYPES = {"fp32": "FLOAT32", "fp16": "FLOAT16", "bf16": "BFLOAT16", "int8": "INT8", "uint8": "UINT8",
              "int16": "INT16", "int32": "INT32", "int64": "INT64", "index": "INT64", "bool": "BOOL",
              "fp8e4m3": "FP8E4M3FN", "fp8e5m2": "FP8E5M2"}
WIDE = {"int64", "index"}
BITS = {"bf16": "uint16_t", "fp16": "uint16_t", "fp8e4m3": "uint8_t", "fp8e5m2": "uint8_t"}

BINARY = {ops.Add: "+", ops.Sub: "-", ops.Mul: "*", ops.Div: "/"}
COMPARE = {ops.Eq: "==", ops.Ne: "!=", ops.Lt: "<", ops.Le: "<=", ops.Gt: ">", ops.Ge: ">="}
MATH = {ops.Exp: "std::exp({})", ops.Log: "std::log({})", ops.Sqrt: "std::sqrt({})",
        ops.Rsqrt: "1.0 / std::sqrt({})", ops.Recip: "1.0 / {}", ops.Sigmoid: "1.0 / (1.0 + std::exp(-{}))"}
ROUND = {"rint": "std::rint", "round": "std::round", "floor": "std::floor", "ceil": "std::ceil",
         "trunc": "std::trunc"}


class OrchestrationUnsupported(PtoError):
    """The orchestration uses something the C++ emitter cannot express (named with its line)."""

    kind = "unsupported"


@dataclass
class Helpers:
    """Support code the emitted expressions use."""

    names: set[str] = field(default_factory=set)  # "floordiv", "mod", "saturate"
    cmath: bool = False


def ctype(dtype: DType) -> str:
    """The C++ type of an orchestration scalar of `dtype` (the bits' type for BITS dtypes)."""
    return C_TYPES.get(dtype.name) or BITS[dtype.name]


def arithmetic_type(dtype: DType, op: Op) -> str:
    """The C++ type of an operand or result of scalar arithmetic; BITS dtypes are rejected."""
    if dtype.name in BITS:
        raise OrchestrationUnsupported(f"{op.name} on a {dtype.name} scalar in the orchestration (it computes "
                                       f"on FP32, integer and BOOL scalars; compute in a kernel, or cast there)",
                                       op.loc)
    return C_TYPES[dtype.name]


def data_type(dtype: DType) -> str:
    """The runtime's DataType enumerator for tensors of `dtype`."""
    return "DataType::" + DATA_TYPES[dtype.name]


def literal(value, dtype: DType) -> str:
    """A C++ literal of `dtype` (bare for integers that fit an int; the context converts)."""
    if dtype.name == "bool":
        return "true" if value else "false"
    if dtype.name in BITS:
        bits = np.array(value, dtype=dtype.np).view(np.uint16 if dtype.bits == 16 else np.uint8)
        return f"static_cast<{BITS[dtype.name]}>({int(bits):#x})"
    if dtype.is_float:
        v = float(value)
        if math.isnan(v):
            return "NAN"
        if math.isinf(v):
            return "INFINITY" if v > 0 else "-INFINITY"
        return repr(v) + "f"
    v = int(value)
    if -2**31 < v < 2**31:
        return str(v)
    return f"INT64_C({v})"


def literal_needs_cmath(value, dtype: DType) -> bool:
    return dtype.is_float and not math.isfinite(float(value))


def scalar_expr(op: Op, args: list[str], helpers: Helpers) -> str:
    """The C++ expression computing the scalar result of `op` from its operand expressions."""
    res = op.results[0].type.dtype
    t = arithmetic_type(res, op)
    for v in op.operands():
        arithmetic_type(v.type.dtype, op)
    if isinstance(op, tuple(COMPARE)):
        return f"({args[0]} {COMPARE[type(op)]} {args[1]})"
    if isinstance(op, ops.Where):
        return f"({args[0]} ? {args[1]} : {args[2]})"
    if isinstance(op, ops.Cast):
        return _cast(op, args[0], helpers)
    if isinstance(op, ops.Binary):
        return _binary(op, args, res, t, helpers)
    if isinstance(op, ops.Unary):
        return _unary(op, args[0], res, t, helpers)
    raise OrchestrationUnsupported(f"{op.name} in the orchestration", op.loc)


def _int(expr: str, dtype: DType) -> str:
    return expr if dtype.name in WIDE else f"static_cast<int64_t>({expr})"


def _wrap(expr: str, dtype: DType, t: str) -> str:
    return f"({expr})" if dtype.name in WIDE else f"static_cast<{t}>({expr})"


def _binary(op: Op, args: list[str], res: DType, t: str, helpers: Helpers) -> str:
    a, b = args
    if res.name == "bool":
        raise OrchestrationUnsupported(f"{op.name} of BOOL scalars", op.loc)
    if isinstance(op, (ops.Maximum, ops.Minimum)):
        cmp = ">" if isinstance(op, ops.Maximum) else "<"
        return f"({a} {cmp} {b} ? {a} : {b})"
    if res.is_float:
        if isinstance(op, ops.Floordiv):
            helpers.cmath = True
            return f"std::floor({a} / {b})"
        if isinstance(op, ops.Mod):
            helpers.cmath = True
            return f"({a} - std::floor({a} / {b}) * {b})"
        return f"({a} {BINARY[type(op)]} {b})"
    x, y = _int(a, res), _int(b, res)
    if isinstance(op, (ops.Floordiv, ops.Mod)):
        name = "floordiv" if isinstance(op, ops.Floordiv) else "mod"
        helpers.names.add(name)
        expr = f"pto_{name}({x}, {y})"
        return expr if res.name in WIDE else f"static_cast<{t}>({expr})"
    return _wrap(f"{x} {BINARY[type(op)]} {y}", res, t)


def _unary(op: Op, a: str, res: DType, t: str, helpers: Helpers) -> str:
    if type(op) in MATH:
        helpers.cmath = True
        return f"static_cast<float>({MATH[type(op)].format(f'static_cast<double>({a})')})"
    if isinstance(op, ops.Neg):
        return f"(-{a})" if res.is_float else _wrap(f"-{_int(a, res)}", res, t)
    if isinstance(op, ops.Abs):
        if res.is_float:
            helpers.cmath = True
            return f"std::fabs({a})"
        return _wrap(f"{a} < 0 ? -{_int(a, res)} : {_int(a, res)}", res, t)
    if isinstance(op, ops.Relu):
        return f"({a} > 0 ? {a} : static_cast<{t}>(0))"
    raise OrchestrationUnsupported(f"{op.name} in the orchestration", op.loc)


def _cast(op: Op, a: str, helpers: Helpers) -> str:
    src, dst = op.src.type.dtype, op.dtype
    t = arithmetic_type(dst, op)
    if C_TYPES[src.name] == t:
        return a
    if dst.name == "bool":
        return f"({a} != 0)"
    if src.is_float and not dst.is_float:
        helpers.cmath = True
        helpers.names.add("saturate")
        return f"pto_saturate<{t}>({ROUND[op.mode]}(static_cast<double>({a})))"
    if dst.is_float:
        return f"static_cast<float>({a})"
    return f"static_cast<{t}>({_int(a, src)})"
