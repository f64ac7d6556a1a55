"""Cube tile ops of a PTO-AS kernel: operands staged GM -> L1 (`mat`) -> L0A/L0B, products in L0C.
A transposed operand is a GM window loaded transposed into L1 (the DN layout)."""
from __future__ import annotations

from ..ir.core import Op, Value
from ..ir.types import Loc, TensorType
from ..passes import split_mixed
from ..passes.outline import op_users
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
        """acc + lhs @ rhs. A zero accumulator (a pl.full of 0 seeding it) is a plain tmatmul; a loop
        carrying the accumulator accumulates in place in its L0C buffer."""
        acc_in = self.tiles.get(op.acc)
        fresh = op.acc in self.zeros or op.acc in self.first_pass
        if not fresh and (acc_in is None or acc_in.home != "acc"):
            where = "popped from the vector core into L1" if acc_in is not None else "not a tile"
            raise Unsupported(f"matmul_acc whose accumulator is {where}: A2/A3 moves L1 only to L0A/L0B/"
                              "bias, nothing into L0C but the cube itself", op.loc)
        left = self.cube_operand(op.lhs, "left", op.loc, op.a_trans)
        right = self.cube_operand(op.rhs, "right", op.loc, op.b_trans)
        in_place = op.acc in self.carried_acc
        acc = self.tiles[op.acc] if in_place else self.tile(op.results[0], "acc", op.loc)
        self.tiles[op.results[0]] = acc
        self.sync(left, "PIPE_M", write=False)
        self.sync(right, "PIPE_M", write=False)
        if fresh:
            self.sync(acc, "PIPE_M", write=True)
            self.line(f"pto.tmatmul ins({left.name}, {right.name} : {left.type}, {right.type}) "
                      f"outs({acc.name} : {acc.type})")
            return
        self.sync(acc_in, "PIPE_M", write=False)
        self.sync(acc, "PIPE_M", write=True)
        self.line(f"pto.tmatmul.acc ins({acc_in.name}, {left.name}, {right.name} : {acc_in.type}, {left.type}, "
                  f"{right.type}) outs({acc.name} : {acc.type})")

    def uses(self, v: Value) -> list[Op]:
        if self._uses is None:
            self._uses = op_users(self.f.body)
        return self._uses.get(v, [])

    def accumulates_in_place(self, loop: Op, i: int) -> bool:
        """Loop-carried value i is an accumulator updated in place (split_mixed's rule, which keeps
        such a loop and its zero seed on the cube)."""
        return split_mixed.accumulates_in_place(loop, i, self.uses)

    def seeds_accumulators(self, v: Value) -> bool:
        """Every use of `v` is the accumulator of a matmul_acc, directly or through a loop's init."""
        return split_mixed.seeds_accumulators(v, self.uses)

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
            self.order_after_stores(self.views[v][0], "PIPE_MTE2")
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

