"""Scalars and index arithmetic of a PTO-AS kernel: constants hoisted to the top of the body,
`arith` index ops (0.1.1 lowers only addi/muli: a subtraction is an add of a product by -1).
A tile-valued Add/Sub/Mul goes to the vector ops."""
from __future__ import annotations

from ..ir.core import Op
from ..ir.types import ScalarType
from .asm_base import Unsupported


class ScalarOps:
    def op_Const(self, op: Op) -> None:
        v = op.results[0]
        if op.dtype.name == "index" or op.dtype.is_int:
            self.names[v] = self.index_const(int(op.value)) if op.dtype.name == "index" else self.scalar_const(op)
        else:
            self.names[v] = self.scalar_const(op)

    def scalar_const(self, op: Op) -> str:
        t = self.elem(op.dtype, op.loc)
        key = (t, op.value)
        if key not in self.consts:
            name = self.fresh("s")
            self.consts[key] = name
            value = repr(float(op.value)) if op.dtype.is_float else str(int(op.value))
            self.body.insert(0, f"    {name} = arith.constant {value} : {t}")
        return self.consts[key]

    def index_binary(self, op: Op, mlir: str) -> None:
        if mlir not in self.d.index_ops:
            raise Unsupported(f"index arithmetic arith.{mlir} is not available in the {self.d.name} dialect", op.loc)
        name = self.fresh("i")
        self.line(f"{name} = arith.{mlir} {self.names[op.lhs]}, {self.names[op.rhs]} : index")
        self.names[op.results[0]] = name

    def scalar_or_tile(self, op: Op) -> bool:
        return isinstance(op.results[0].type, ScalarType)

    def op_Add(self, op: Op) -> None:
        self.index_binary(op, "addi") if self.scalar_or_tile(op) else self.vector_binary(op)

    def op_Mul(self, op: Op) -> None:
        self.index_binary(op, "muli") if self.scalar_or_tile(op) else self.vector_binary(op)

    def op_Sub(self, op: Op) -> None:
        if not self.scalar_or_tile(op):
            return self.vector_binary(op)
        if "subi" in self.d.index_ops:
            return self.index_binary(op, "subi")
        neg = self.fresh("i")  # a - b == a + b * -1 (0.1.1 lowers only addi and muli)
        self.line(f"{neg} = arith.muli {self.names[op.rhs]}, {self.index_const(-1)} : index")
        name = self.fresh("i")
        self.line(f"{name} = arith.addi {self.names[op.lhs]}, {neg} : index")
        self.names[op.results[0]] = name

    def op_Floordiv(self, op: Op) -> None:
        self.index_binary(op, "floordivsi")

    def op_Mod(self, op: Op) -> None:
        self.index_binary(op, "remsi")

    op_Div = op_Maximum = op_Minimum = lambda self, op: self.vector_binary(op)

    def op_Read(self, op: Op) -> None:
        """One element of GM (`pto.load_scalar` at its flat offset); an integer becomes an index.
        Not in the 0.1.1 dialect."""
        if not self.d.load_scalar:
            raise Unsupported(f"a scalar read of GM (pl.read) in the {self.d.name} dialect", op.loc)
        if op.src not in self.views:
            raise Unsupported("a scalar read of a tile (pl.read of a value not in GM)", op.loc)
        param, base = self.views[op.src]
        shape = param.type.shape
        flat = 0
        for i, (b, o) in enumerate(zip(base, op.offsets)):
            stride = 1
            for n in shape[i + 1:]:
                stride *= n
            term = self.add_index(b, o)
            if stride != 1 and term != 0:
                term = term * stride if isinstance(term, int) else self.mul_index(term, stride)
            flat = self.add_index(flat, term)
        t = self.elem(op.results[0].type.dtype, op.loc)
        self.order_after_stores(param, "PIPE_S")
        name = self.fresh("s")
        self.line(f"{name} = pto.load_scalar {self.names[param]}[{self.index(flat)}] : !pto.ptr<{t}> -> {t}")
        if t.startswith("i"):
            cast = self.fresh("i")
            self.line(f"{cast} = arith.index_cast {name} : {t} to index")
            name = cast
        self.names[op.results[0]] = name
