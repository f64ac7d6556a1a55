"""Cube tile ops of a PTO-AS kernel: operands staged GM -> L1 (`mat`) -> L0A/L0B, products in L0C.
A transposed operand is a GM window loaded transposed into L1 (the DN layout)."""
from __future__ import annotations

from ..ir.core import Op, Value
from ..ir.types import Loc, TensorType
from .asm_base import Tile, Unsupported


class CubeOps:
    # --- cube -----------------------------------------------------------------------------------
    def op_Matmul(self, op: Op) -> None:
        left = self.cube_operand(op.lhs, "left", op.loc, op.a_trans)
        right = self.cube_operand(op.rhs, "right", op.loc, op.b_trans)
        acc = self.tile(op.results[0], "acc", op.loc)
        self.sync(left, "PIPE_M", write=False)
        self.sync(right, "PIPE_M", write=False)
        self.sync(acc, "PIPE_M", write=True)
        self.line(f"pto.tmatmul ins({left.name}, {right.name} : {left.type}, {right.type}) outs({acc.name} : {acc.type})")

    def op_MatmulAcc(self, op: Op) -> None:
        acc_in = self.tiles.get(op.acc)
        if acc_in is None or acc_in.home != "acc":
            raise Unsupported("matmul_acc whose accumulator is not an L0C tile", op.loc)
        left = self.cube_operand(op.lhs, "left", op.loc, op.a_trans)
        right = self.cube_operand(op.rhs, "right", op.loc, op.b_trans)
        acc = self.tile(op.results[0], "acc", op.loc)
        self.sync(left, "PIPE_M", write=False)
        self.sync(right, "PIPE_M", write=False)
        self.sync(acc_in, "PIPE_M", write=False)
        self.sync(acc, "PIPE_M", write=True)
        self.line(f"pto.tmatmul.acc ins({acc_in.name}, {left.name}, {right.name} : {acc_in.type}, {left.type}, "
                  f"{right.type}) outs({acc.name} : {acc.type})")

    def cube_operand(self, v: Value, home: str, loc: Loc | None, transposed: bool = False) -> Tile:
        """The operand in L0A/L0B, staged through L1. A transposed operand is a GM window loaded
        transposed: the [R, C] window lands in a [C, R] L1 tile of the opposite block layout."""
        if v not in self.views and (v not in self.tiles or self.tiles[v].home != "mat"):
            raise Unsupported("a matmul operand that is neither in GM nor in L1", loc)
        if transposed:
            if v not in self.views:
                raise Unsupported("a transposed matmul operand that is not in GM", loc)
            staged = self.tile(Value(TensorType(v.type.shape[::-1], v.type.dtype), v.hint), "mat_t", loc)
            win, wt = self.window(v, v.type.shape)
            self.sync(staged, "PIPE_MTE2", write=True)
            self.line(f"pto.tload ins({win} : {wt}) outs({staged.name} : {staged.type})")
        else:
            staged = self.operand(v, "mat", loc)
        shape = v.type.shape[::-1] if transposed else v.type.shape
        tile = self.tile(Value(TensorType(tuple(shape), v.type.dtype), v.hint), home, loc)
        self.sync(staged, "PIPE_MTE1", write=False)
        self.sync(tile, "PIPE_MTE1", write=True)
        self.line(f"pto.tmov ins({staged.name} : {staged.type}) outs({tile.name} : {tile.type})")
        return tile

