"""Vector (UB) tile ops of a PTO-AS kernel: elementwise tile-tile and tile-scalar ops, unary ops,
row reductions, broadcasts, casts, fills, and loads of GM windows into UB tiles."""
from __future__ import annotations

from ..ir import ops
from ..ir.core import Op, Value
from ..ir.types import ScalarType
from .asm_base import Tile, Unsupported

VECTOR_BINARY = {ops.Add: "tadd", ops.Sub: "tsub", ops.Mul: "tmul", ops.Div: "tdiv", ops.Maximum: "tmax",
                 ops.Minimum: "tmin"}
VECTOR_SCALAR = {ops.Add: "tadds", ops.Sub: "tsubs", ops.Mul: "tmuls", ops.Div: "tdivs", ops.Maximum: "tmaxs",
                 ops.Minimum: "tmins"}
COMMUTATIVE = (ops.Add, ops.Mul, ops.Maximum, ops.Minimum)
VECTOR_UNARY = {ops.Exp: "texp", ops.Log: "tlog", ops.Sqrt: "tsqrt", ops.Rsqrt: "trsqrt", ops.Recip: "trecip",
                ops.Relu: "trelu", ops.Abs: "tabs", ops.Neg: "tneg"}
ROW_REDUCE = {ops.RowSum: "trowsum", ops.RowMax: "trowmax"}
EXPAND = {ops.RowExpandSub: "trowexpandsub", ops.RowExpandMul: "trowexpandmul", ops.RowExpandDiv: "trowexpanddiv",
          ops.RowExpandAdd: "trowexpandadd", ops.ColExpandAdd: "tcolexpandadd", ops.ColExpandSub: "tcolexpandsub",
          ops.ColExpandMul: "tcolexpandmul", ops.ColExpandDiv: "tcolexpanddiv"}
TEXPANDS_INT = {"int32", "int16"}
BASIC_EXPANDS = {"trowexpandsub", "trowexpandmul", "trowexpanddiv"}

class VectorOps:
    def vector(self, op: Op, mnemonic: str, srcs: list[Tile], scalar: str | None = None,
               scalar_type: str | None = None, attr: str = "", split: bool = False) -> None:
        for s in srcs:
            self.sync(s, "PIPE_V", write=False)
        dst = self.result_tile(op)
        self.sync(dst, "PIPE_V", write=True)
        names = [s.name for s in srcs] + ([scalar] if scalar else [])
        types = [s.type for s in srcs] + ([scalar_type] if scalar_type else [])
        if scalar and mnemonic in self.d.untyped_scalar:  # 0.1.1: ins(%a : Ta, %s), the scalar f32
            ins = f"{srcs[0].name} : {srcs[0].type}, {scalar}"
        elif split:
            ins = ", ".join(f"{n} : {t}" for n, t in zip(names, types))
        else:
            ins = f"{', '.join(names)}{attr} : {', '.join(types)}"
        self.line(f"pto.{mnemonic} ins({ins}) outs({dst.name} : {dst.type})")

    def vector_binary(self, op: Op) -> None:
        lhs, rhs = op.lhs, op.rhs
        if isinstance(lhs.type, ScalarType) and isinstance(op, COMMUTATIVE):
            lhs, rhs = rhs, lhs  # s op x == x op s, bit for bit
        if isinstance(rhs.type, ScalarType):
            mnemonic = VECTOR_SCALAR.get(type(op))
            if mnemonic is None:
                raise Unsupported(f"{op.name} of a tile and a scalar", op.loc)
            if mnemonic in self.d.broken_ops:
                raise Unsupported(f"{op.name} of a tile and a scalar: {mnemonic} {self.d.broken_ops[mnemonic]}", op.loc)
            return self.vector(op, mnemonic, [self.operand(lhs, "vec", op.loc)], self.names[rhs],
                               self.elem(rhs.type.dtype, op.loc))
        if isinstance(lhs.type, ScalarType):
            raise Unsupported(f"{op.name} with a scalar left operand", op.loc)
        mnemonic = VECTOR_BINARY[type(op)]
        srcs = [self.operand(lhs, "vec", op.loc), self.operand(rhs, "vec", op.loc)]
        self.vector(op, mnemonic, srcs, split=mnemonic in self.d.split_binary)

    def _unary(self, op: Op) -> None:
        if type(op) not in VECTOR_UNARY:
            raise Unsupported(f"{op.name} has no PTO-AS tile op here", op.loc)
        self.vector(op, VECTOR_UNARY[type(op)], [self.operand(op.src, "vec", op.loc)])

    op_Exp = op_Log = op_Sqrt = op_Rsqrt = op_Recip = op_Relu = op_Abs = op_Neg = _unary

    def op_Sigmoid(self, op: Op) -> None:
        raise Unsupported("pl.sigmoid: PTO-AS has no sigmoid tile op, and 1 / (1 + exp(-x)) from tile ops "
                          "rounds at every step where pl.sigmoid rounds once (not bitwise the same)", op.loc)

    def _row_reduce(self, op: Op) -> None:
        if type(op) not in ROW_REDUCE:
            raise Unsupported(f"{op.name} has no PTO-AS tile op here", op.loc)
        src = self.operand(op.src, "vec", op.loc)
        srcs = [src]
        if self.d.reduction_tmp:
            tmp = Value(op.src.type, "tmp")
            srcs.append(self.tile(tmp, "vec", op.loc))
        self.vector(op, ROW_REDUCE[type(op)], srcs)

    op_RowSum = op_RowMax = _row_reduce

    def _expand(self, op: Op) -> None:
        mnemonic = EXPAND.get(type(op))
        if mnemonic is not None and mnemonic not in BASIC_EXPANDS and mnemonic not in self.d.more_expands:
            raise Unsupported(f"{op.name} ({mnemonic}) is not in the {self.d.name} dialect", op.loc)
        if type(op) in EXPAND:
            return self.vector(op, EXPAND[type(op)], [self.operand(op.src, "vec", op.loc),
                                                      self.operand(op.vec, "vec", op.loc)])
        if isinstance(op, ops.ColExpand):
            return self.vector(op, "tcolexpand", [self.operand(op.vec, "vec", op.loc)])
        if isinstance(op, ops.RowExpand):
            return self.vector(op, "trowexpand", [self.operand(op.vec, "vec", op.loc)])
        raise Unsupported(f"{op.name} has no PTO-AS tile op here", op.loc)

    op_RowExpandSub = op_RowExpandMul = op_RowExpandDiv = op_ColExpand = op_RowExpand = _expand
    op_RowExpandAdd = op_ColExpandAdd = op_ColExpandSub = op_ColExpandMul = op_ColExpandDiv = _expand

    def op_Cast(self, op: Op) -> None:
        if isinstance(op.results[0].type, ScalarType):
            raise Unsupported("a scalar cast", op.loc)
        mode = {"rint": "CAST_RINT", "round": "CAST_ROUND", "floor": "CAST_FLOOR", "ceil": "CAST_CEIL",
                "trunc": "CAST_TRUNC"}[op.mode]
        self.vector(op, "tcvt", [self.operand(op.src, "vec", op.loc)], attr=f" {{rmode = #pto<round_mode {mode}>}}")

    def op_Full(self, op: Op) -> None:
        if op.value == 0 and self.seeds_accumulators(op.results[0]):
            self.zeros.add(op.results[0])  # the first product replaces it (tmatmul, not tmatmul.acc)
            return
        if not op.dtype.is_float and op.dtype.name not in TEXPANDS_INT:
            raise Unsupported(f"an {op.dtype.name} pl.full (texpands fills f32, f16, i32, i16 tiles on A2/A3)", op.loc)
        value = float(op.value) if op.dtype.is_float else int(op.value)
        c = ops.Const(loc=op.loc, value=value, dtype=op.dtype)
        s = self.scalar_const(c)
        dst = self.result_tile(op)
        self.sync(dst, "PIPE_V", write=True)
        self.line(f"pto.texpands ins({s} : {self.elem(op.dtype, op.loc)}) outs({dst.name} : {dst.type})")

    def op_Load(self, op: Op) -> None:
        src = self.operand(op.src, "vec", op.loc)
        self.tiles[op.results[0]] = src

