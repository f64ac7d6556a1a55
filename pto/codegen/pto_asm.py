"""PTO-AS (`.pto`, MLIR text) for one kernel, in either dialect of spelling.py.

Requires: a kernel function of an outlined program (role kernel with core aiv or aic, or one part
of a split mixed kernel).
Produces: the text of one `module { func.func ... }`, or raises `Unsupported` naming the op, its
line and why (an op or dtype the dialect cannot express).

Model (the ops live in mixins: asm_scalar, asm_views, asm_vector, asm_cube; shared state in
asm_base): every tensor parameter is a `!pto.ptr` with a row-major tensor view; a slice of it is a
window; tiles are allocated once each (no reuse: ptoas plans addresses and checks capacity).
Vector tiles live in the dialect's UB, matmul operands are loaded into L1 (`mat`) and moved to
L0A/L0B, results accumulate in L0C. A loop carries a tile in its own buffer: the initial value
and each iteration's new value are copied into it (scf.for has no iter_args in 0.1.1); an L0C
accumulator is updated in place instead, and when it starts as a pl.full of 0 the loop's first
iteration is peeled so it can start with a plain tmatmul (nothing else writes L0C).
Synchronization is explicit: before an op reads a tile another pipe wrote (or writes a tile
another pipe still reads), `set_flag`/`wait_flag` between the two pipes; a read of GM the
kernel stored to waits for the store's pipe; a loop body ends with a full barrier so iterations
do not overlap.
"""
from __future__ import annotations

from ..ir.core import Function, Op, Region
from ..ir.types import ScalarType, TensorType
from .asm_base import EmitterBase, Unsupported
from .asm_cube import CubeOps
from .asm_scalar import ScalarOps
from .asm_vector import VectorOps
from .asm_views import ViewOps
from .spelling import Dialect

__all__ = ["Unsupported", "emit_kernel", "kernel_functions"]


def emit_kernel(f: Function, dialect: Dialect) -> str:
    e = _Emitter(f, dialect)
    e.function()
    return e.text()


class _Emitter(ScalarOps, ViewOps, VectorOps, CubeOps, EmitterBase):
    # --- function and parameters --------------------------------------------------------------
    def function(self) -> None:
        args = []
        for p in self.f.params:
            v, loc = p.value, self.f.body.ops[-1].loc
            if p.direction == "block":
                continue
            name = "%" + (v.hint or "a").replace(".", "_")
            while name in self.names.values():  # hints need not be unique (two materialized tiles)
                name += "_"
            self.names[v] = name
            if isinstance(v.type, TensorType):
                args.append(f"{name}: !pto.ptr<{self.elem(v.type.dtype, loc)}>")
            else:
                args.append(f"{name}: {self.elem(v.type.dtype, loc)}")
        self.header = [f"  func.func @{self.f.name}({', '.join(args)}) {{"]
        for p in self.f.params:
            if p.direction == "block":
                raw = self.fresh("bid")
                self.line(f"{raw} = pto.get_block_idx")
                self.names[p.value] = self.fresh("blk")
                self.line(f"{self.names[p.value]} = arith.index_cast {raw} : i64 to index")
            elif isinstance(p.value.type, TensorType):
                self.tensor_view(p.value)
        self.region(self.f.body)


    # --- ops ----------------------------------------------------------------------------------
    def region(self, region: Region) -> None:
        for op in region.ops:
            handler = getattr(self, "op_" + type(op).__name__, None)
            if handler is None:
                raise Unsupported(f"{op.name} has no PTO-AS form here", op.loc)
            handler(op)

    def op_Return(self, op: Op) -> None:
        pass

    def op_Yield(self, op: Op) -> None:
        pass

    def op_ForLoop(self, op: Op) -> None:
        body = op.regions[0]
        carried, zero = self.loop_carried(op)
        start = op.start
        if zero:
            start = self.peel_first_iteration(op, carried, zero)
        if start is not None:
            iv = self.fresh("i")
            self.names[body.args[0]] = iv
            self.line("pto.barrier #pto.pipe<PIPE_ALL>")
            self.line(f"scf.for {iv} = {self.index(start)} to {self.index(op.stop)} step {self.index(op.step)} {{")
            self.depth += 1
            self.loop_body(op, carried)
            self.depth -= 1
            self.line("}")
        self.replay = []
        for r, arg in zip(op.results, body.args[1:]):
            if arg in self.views:
                self.views[r] = self.views[arg]
            else:
                self.tiles[r] = self.tiles[arg]

    def loop_carried(self, op: Op) -> tuple[list, set]:
        """The tile buffers a loop carries ((arg, buffer) pairs copied each iteration), and the
        accumulators that start at zero. GM buffers are threaded through as views; an accumulator
        updated in place keeps its L0C buffer (the initial one's, when nothing else reads it)."""
        body, carried, zero = op.regions[0], [], set()
        for i, (arg, init) in enumerate(zip(body.args[1:], op.init)):
            if isinstance(arg.type, ScalarType):
                raise Unsupported("a loop-carried scalar (scf.for has no iter_args here)", op.loc)
            if init in self.views:  # a GM buffer threaded through the loop: nothing to carry
                self.views[arg] = self.views[init]
            elif self.accumulates_in_place(op, i) and (init in self.zeros or self.sole_acc(init, op)):
                self.carried_acc.add(arg)
                if init in self.zeros:
                    zero.add(arg)
                    self.tile(arg, "acc", op.loc)
                else:
                    self.tiles[arg] = self.tiles[init]
            else:
                src = self.operand(init, "vec", op.loc)
                buf = self.tile(arg, src.home, op.loc)
                self.copy(src, buf)
                carried.append((arg, buf))
        return carried, zero

    def sole_acc(self, init, loop: Op) -> bool:
        return init in self.tiles and self.tiles[init].home == "acc" and self.uses(init) == [loop]

    def loop_body(self, op: Op, carried: list) -> None:
        body = op.regions[0]
        self.region(body)
        yields = dict(zip(body.args[1:], body.ops[-1].values))
        for arg, buf in carried:
            self.copy(self.operand(yields[arg], buf.home, op.loc), buf)
        self.line("pto.barrier #pto.pipe<PIPE_ALL>")

    def peel_first_iteration(self, op: Op, carried: list, zero: set):
        """Emit the first iteration on its own, its accumulators starting with a plain tmatmul
        (nothing can zero L0C but the cube). Returns the start of the remaining loop, or None.
        The remaining loop reuses the first iteration's tiles (ptoas plans no reuse itself)."""
        if not all(isinstance(x, int) for x in (op.start, op.stop, op.step)) or op.stop <= op.start:
            raise Unsupported("a loop accumulating into a zero matmul_acc accumulator whose trip count is "
                              "not known to be positive (its first iteration is peeled)", op.loc)
        if self.recording is not None or self.replay:
            raise Unsupported("nested loops that each start a zero matmul_acc accumulator", op.loc)
        self.names[op.regions[0].args[0]] = self.index_const(op.start)
        self.line("pto.barrier #pto.pipe<PIPE_ALL>")
        self.first_pass, self.recording = zero, []
        self.loop_body(op, carried)
        self.replay, self.recording, self.first_pass = self.recording, None, set()
        nxt = op.start + op.step
        return nxt if nxt < op.stop else None

    # --- the cube <-> vector pipe of a split mixed kernel -------------------------------------------
    def op_TPush(self, op: Op) -> None:
        if not self.d.cross_core:
            raise Unsupported(f"cube/vector exchange (pl.tpush) in the {self.d.name} dialect", op.loc)
        if op.value not in self.tiles and op.value not in self.views:
            raise Unsupported("pushing a scalar or a GM buffer to the other core", op.loc)
        tile = self.operand(op.value, "vec", op.loc)
        to = "aiv" if self.f.attrs.get("core") == "aic" else "aic"
        self.sync(tile, "PIPE_FIX" if tile.home == "acc" else "PIPE_V", write=False)
        self.line(f"pto.tpush_to_{to} ins({tile.name} : {tile.type}) {{id = {op.channel}}}")

    def op_TPop(self, op: Op) -> None:
        if not self.d.cross_core:
            raise Unsupported(f"cube/vector exchange (pl.tpop) in the {self.d.name} dialect", op.loc)
        if op.shape is None:
            raise Unsupported("popping a scalar from the other core", op.loc)
        home = "mat" if self.f.attrs.get("core") == "aic" else "vec"
        tile = self.tile(op.results[0], home, op.loc)
        frm = "aiv" if self.f.attrs.get("core") == "aic" else "aic"
        self.line(f"pto.tpop_from_{frm} outs({tile.name} : {tile.type}) {{id = {op.channel}}}")
        tile.writer = "PIPE_MTE2"


def kernel_functions(program) -> list[Function]:
    """The functions that become .pto files: plain kernels and the parts of split mixed ones."""
    return [f for f in program.functions[1:]
            if (f.attrs.get("role") == "kernel" and f.attrs.get("core") != "mixed") or f.attrs.get("role") == "kernel-part"]
