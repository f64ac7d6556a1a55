"""PTO-AS (`.pto`, MLIR text) for one kernel, in either dialect of spelling.py.

Requires: a kernel function of an outlined program (role kernel with core aiv or aic, or one part
of a split mixed kernel).
Produces: the text of one `module { func.func ... }`, or raises `Unsupported` naming the op, its
line and why (an op or dtype the dialect cannot express).

Model: every tensor parameter is a `!pto.ptr` with a row-major tensor view; a slice of it is a
window; tiles are allocated once each (no reuse: ptoas plans addresses and checks capacity).
Vector tiles live in the dialect's UB, matmul operands are loaded into L1 (`mat`) and moved to
L0A/L0B, results accumulate in L0C. A loop carries a tile in its own buffer: the initial value
and each iteration's new value are copied into it (scf.for has no iter_args in 0.1.1).
Synchronization is explicit: before an op reads a tile another pipe wrote (or writes a tile
another pipe still reads), `set_flag`/`wait_flag` between the two pipes; a loop body ends with a
full barrier so iterations do not overlap.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis.memory import buffer_roots
from ..ir import ops
from ..ir.core import Function, Op, Region, Value
from ..ir.types import Loc, ScalarType, TensorType
from .spelling import ELEMENT, LAYOUT, Dialect

VECTOR_BINARY = {ops.Add: "tadd", ops.Sub: "tsub", ops.Mul: "tmul", ops.Div: "tdiv", ops.Maximum: "tmax",
                 ops.Minimum: "tmin"}
VECTOR_SCALAR = {ops.Add: "tadds", ops.Sub: "tsubs", ops.Mul: "tmuls", ops.Div: "tdivs"}
VECTOR_UNARY = {ops.Exp: "texp", ops.Log: "tlog", ops.Sqrt: "tsqrt", ops.Rsqrt: "trsqrt", ops.Recip: "trecip",
                ops.Relu: "trelu", ops.Abs: "tabs", ops.Neg: "tneg"}
ROW_REDUCE = {ops.RowSum: "trowsum", ops.RowMax: "trowmax"}
EXPAND = {ops.RowExpandSub: "trowexpandsub", ops.RowExpandMul: "trowexpandmul", ops.RowExpandDiv: "trowexpanddiv",
          ops.RowExpandAdd: "trowexpandadd", ops.ColExpandAdd: "tcolexpandadd", ops.ColExpandSub: "tcolexpandsub",
          ops.ColExpandMul: "tcolexpandmul", ops.ColExpandDiv: "tcolexpanddiv"}
TEXPANDS_INT = {"int32", "int16"}
BASIC_EXPANDS = {"trowexpandsub", "trowexpandmul", "trowexpanddiv"}


class Unsupported(Exception):
    def __init__(self, reason: str, loc: Loc | None = None):
        super().__init__(f"{loc}: {reason}" if loc else reason)
        self.reason, self.loc = reason, loc


@dataclass
class _Tile:
    name: str
    type: str  # the alias of its tile_buf type
    home: str  # key of LAYOUT
    writer: str | None = None  # the pipe that last wrote it
    reader: str | None = None  # the pipe that last read it


def emit_kernel(f: Function, dialect: Dialect) -> str:
    e = _Emitter(f, dialect)
    e.function()
    return e.text()


class _Emitter:
    def __init__(self, f: Function, d: Dialect):
        self.f, self.d = f, d
        self.roots = buffer_roots(f)
        self.aliases: dict[str, str] = {}
        self.body: list[str] = []
        self.names: dict[Value, str] = {}
        self.tiles: dict[Value, _Tile] = {}
        self.views: dict[Value, tuple[Value, tuple]] = {}  # GM value -> (its tensor view's param, offsets)
        self.consts: dict[tuple, str] = {}
        self.tensor_views: dict[Value, str] = {}
        self.count = 0
        self.depth = 2

    # --- text ---------------------------------------------------------------------------------
    def fresh(self, hint: str = "v") -> str:
        self.count += 1
        return f"%{hint}{self.count}"

    def line(self, text: str) -> None:
        self.body.append("  " * self.depth + text)

    def alias(self, text: str, prefix: str) -> str:
        if text not in self.aliases:
            self.aliases[text] = f"!{prefix}{len(self.aliases)}"
        return self.aliases[text]

    def text(self) -> str:
        head = [f"{name} = {t}" for t, name in self.aliases.items()]
        return "\n".join(head + ["module {"] + self.header + self.body + ["    return", "  }", "}", ""])

    def elem(self, dtype, loc: Loc | None) -> str:
        t = ELEMENT[dtype.name]
        if t not in self.d.dtypes and t != "index":
            raise Unsupported(f"{dtype.name} is not an element type of the {self.d.name} dialect", loc)
        return t

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

    def tensor_view(self, p: Value) -> None:
        shape = p.type.shape
        strides = [1] * len(shape)
        for i in range(len(shape) - 2, -1, -1):
            strides[i] = strides[i + 1] * shape[i + 1]
        t = self.d.tensor_view_type.format(rank=len(shape), dims="x".join("?" * len(shape)),
                                           t=self.elem(p.type.dtype, None))
        name = self.fresh("tv")
        dims = ", ".join(self.index_const(s) for s in shape)
        steps = ", ".join(self.index_const(s) for s in strides)
        self.line(f"{name} = pto.make_tensor_view {self.names[p]}, shape = [{dims}]{self.d.view_comma} "
                  f"strides = [{steps}] : {t}")
        self.tensor_views[p] = name
        self.views[p] = (p, (0,) * len(shape))

    def index_const(self, n: int) -> str:
        key = ("index", n)
        if key not in self.consts:
            name = f"%c{n}" if n >= 0 else f"%cm{-n}"
            self.consts[key] = name
            self.body.insert(0, f"    {name} = arith.constant {n} : index")
        return self.consts[key]

    def index(self, x: int | str | Value) -> str:
        """The SSA name of an index: a constant, an already emitted name, or a kernel value."""
        if isinstance(x, int):
            return self.index_const(x)
        return x if isinstance(x, str) else self.names[x]

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

    # --- GM views -----------------------------------------------------------------------------
    def op_Slice(self, op: Op) -> None:
        if op.src in self.tiles:
            return self.extract(op)
        if op.src not in self.views:
            raise Unsupported("a slice of a value that is neither a tile nor in GM", op.loc)
        param, base = self.views[op.src]
        self.views[op.results[0]] = (param, tuple(self.add_index(b, o) for b, o in zip(base, op.offsets)))

    def extract(self, op: Op) -> None:
        """A window of a tile, copied out (`textract`)."""
        src = self.tiles[op.src]
        self.sync(src, "PIPE_V", write=False)
        dst = self.result_tile(op)
        self.sync(dst, "PIPE_V", write=True)
        r, c = (self.index(o) for o in op.offsets)
        self.line(f"pto.textract ins({src.name}[{r}, {c}] : {src.type}) outs({dst.name} : {dst.type})")

    def op_Reshape(self, op: Op) -> None:
        """Reshapes of GM expressed here: a whole parameter, or a run of a 1-D parameter as a
        column or a row (both a new tensor view over the same pointer)."""
        if op.src not in self.views:
            raise Unsupported("a reshape of a tile", op.loc)
        param, base = self.views[op.src]
        src_shape, new = op.src.type.shape, tuple(op.shape)
        if src_shape == param.type.shape and all(b == 0 for b in base):
            self.views[op.results[0]] = (self.reshaped_param(param, new), (0,) * len(new))
        elif len(param.type.shape) == 1 and len(new) == 2 and 1 in new:
            column = new[1] == 1
            view = self.reshaped_param(param, (param.type.shape[0], 1) if column else (1, param.type.shape[0]))
            self.views[op.results[0]] = (view, (base[0], 0) if column else (0, base[0]))
        else:
            raise Unsupported("a reshape of a partial GM window", op.loc)

    def reshaped_param(self, param: Value, shape: tuple) -> Value:
        alias = Value(TensorType(tuple(shape), param.type.dtype), param.hint)
        self.names[alias] = self.names[param]
        self.tensor_view(alias)
        return alias

    def add_index(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        if a == 0:
            return b
        if b == 0:
            return a
        name = self.fresh("i")
        self.line(f"{name} = arith.addi {self.index(a)}, {self.index(b)} : index")
        return name

    def window(self, v: Value, shape: tuple, offsets: tuple = ()) -> tuple[str, str]:
        """A window of GM value `v` (with extra offsets), as (name, type)."""
        param, base = self.views[v]
        offs = tuple(self.add_index(b, o) for b, o in zip(base, offsets)) if offsets else base
        t = self.d.window_type.format(shape="x".join(map(str, shape)), t=self.elem(param.type.dtype, None))
        tv_type = self.d.tensor_view_type.format(rank=len(param.type.shape), dims="x".join("?" * len(param.type.shape)),
                                                 t=self.elem(param.type.dtype, None))
        name = self.fresh("w")
        self.line(f"{name} = pto.{self.d.view_op} {self.tensor_views[param]}, offsets = "
                  f"[{', '.join(self.index(o) for o in offs)}], sizes = [{', '.join(self.index_const(s) for s in shape)}]"
                  f" : {tv_type} -> {t}")
        return name, t

    # --- tiles --------------------------------------------------------------------------------
    def tile(self, v: Value, home: str, loc: Loc | None) -> _Tile:
        t = v.type
        if len(t.shape) != 2:
            raise Unsupported(f"a rank-{len(t.shape)} tile (tiles are 2-D)", loc)
        key, blayout, slayout, fractal = LAYOUT[home]
        rows, cols = t.shape
        text = (f"!pto.tile_buf<loc={key or self.d.ub}, dtype={self.elem(t.dtype, loc)}, rows={rows}, cols={cols}, "
                f"v_row={rows}, v_col={cols}, blayout={blayout}, slayout={slayout}, fractal={fractal}, pad=0>")
        tile = _Tile(self.fresh("t"), self.alias(text, "tb"), home)
        self.line(f"{tile.name} = pto.alloc_tile : {tile.type}")
        self.tiles[v] = tile
        return tile

    def operand(self, v: Value, home: str, loc: Loc | None) -> _Tile:
        """The tile holding `v`, loading it from GM first when `v` is a GM window."""
        if v in self.tiles:
            return self.tiles[v]
        if v not in self.views:
            raise Unsupported(f"operand {v.hint or ''} is neither a tile nor a GM window", loc)
        tile = self.tile(v, home, loc)
        win, wt = self.window(v, v.type.shape)
        self.sync(tile, "PIPE_MTE2", write=True)
        self.line(f"pto.tload ins({win} : {wt}) outs({tile.name} : {tile.type})")
        del self.tiles[v]  # a later use of the window loads it again (its contents may change)
        return tile

    def sync(self, tile: _Tile, pipe: str, write: bool) -> None:
        """Wait for the pipe that last wrote `tile` (and, before a write, the one still reading it)."""
        for prev in sorted({tile.writer, tile.reader if write else None} - {None, pipe}):
            self.line(f"pto.set_flag[<{prev}>, <{pipe}>, <EVENT_ID0>]")
            self.line(f"pto.wait_flag[<{prev}>, <{pipe}>, <EVENT_ID0>]")
        if write:
            tile.writer, tile.reader = pipe, None
        else:
            tile.reader = pipe

    def result_tile(self, op: Op, home: str = "vec") -> _Tile:
        t = op.results[0].type
        if home == "vec" and len(t.shape) == 2 and t.shape[1] == 1 and t.shape[0] > 1:
            home = "vec_col"
        tile = self.tile(op.results[0], home, op.loc)
        return tile

    def vector(self, op: Op, mnemonic: str, srcs: list[_Tile], scalar: str | None = None,
               scalar_type: str | None = None, attr: str = "", split: bool = False) -> None:
        for s in srcs:
            self.sync(s, "PIPE_V", write=False)
        dst = self.result_tile(op)
        self.sync(dst, "PIPE_V", write=True)
        names = [s.name for s in srcs] + ([scalar] if scalar else [])
        types = [s.type for s in srcs] + ([scalar_type] if scalar_type else [])
        if split:
            ins = ", ".join(f"{n} : {t}" for n, t in zip(names, types))
        else:
            ins = f"{', '.join(names)}{attr} : {', '.join(types)}"
        self.line(f"pto.{mnemonic} ins({ins}) outs({dst.name} : {dst.type})")

    def vector_binary(self, op: Op) -> None:
        lhs, rhs = op.lhs, op.rhs
        if isinstance(rhs.type, ScalarType):
            mnemonic = VECTOR_SCALAR.get(type(op))
            if mnemonic is None:
                raise Unsupported(f"{op.name} of a tile and a scalar", op.loc)
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

    def cube_operand(self, v: Value, home: str, loc: Loc | None, transposed: bool = False) -> _Tile:
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

    # --- stores and loops -------------------------------------------------------------------------
    def op_Assemble(self, op: Op) -> None:
        if op.dst not in self.views:
            raise Unsupported("an assemble into a tile (only stores to GM are expressed)", op.loc)
        src = self.operand(op.src, "vec", op.loc)
        pipe = "PIPE_FIX" if src.home == "acc" else "PIPE_MTE3"
        self.sync(src, pipe, write=False)
        win, wt = self.window(op.dst, op.src.type.shape, op.offsets)
        self.line(f"pto.tstore ins({src.name} : {src.type}) outs({win} : {wt})")
        self.views[op.results[0]] = self.views[self.root_view(op.dst)]

    def root_view(self, v: Value) -> Value:
        while isinstance(v.owner, ops.Slice):
            v = v.owner.src
        return v

    def op_ForLoop(self, op: Op) -> None:
        body = op.regions[0]
        carried = []
        for arg, init in zip(body.args[1:], op.init):
            if isinstance(arg.type, ScalarType):
                raise Unsupported("a loop-carried scalar (scf.for has no iter_args here)", op.loc)
            if init in self.views:  # a GM buffer threaded through the loop: nothing to carry
                self.views[arg] = self.views[init]
                continue
            src = self.operand(init, "vec", op.loc)
            buf = self.tile(arg, src.home, op.loc)
            self.copy(src, buf)
            carried.append((arg, buf))
        iv = self.fresh("i")
        self.names[body.args[0]] = iv
        self.line("pto.barrier #pto.pipe<PIPE_ALL>")
        self.line(f"scf.for {iv} = {self.index(op.start)} to {self.index(op.stop)} step {self.index(op.step)} {{")
        self.depth += 1
        self.region(body)
        for (arg, buf), y in zip(carried, [v for a, v in zip(body.args[1:], body.ops[-1].values) if a not in self.views]):
            self.copy(self.operand(y, buf.home, op.loc), buf)
        self.line("pto.barrier #pto.pipe<PIPE_ALL>")
        self.depth -= 1
        self.line("}")
        for r, arg in zip(op.results, body.args[1:]):
            if arg in self.views:
                self.views[r] = self.views[arg]
            else:
                self.tiles[r] = self.tiles[arg]

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

    def copy(self, src: _Tile, dst: _Tile) -> None:
        self.sync(src, "PIPE_V", write=False)
        self.sync(dst, "PIPE_V", write=True)
        self.line(f"pto.tmov ins({src.name} : {src.type}) outs({dst.name} : {dst.type})")


def kernel_functions(program) -> list[Function]:
    """The functions that become .pto files: plain kernels and the parts of split mixed ones."""
    return [f for f in program.functions[1:]
            if (f.attrs.get("role") == "kernel" and f.attrs.get("core") != "mixed") or f.attrs.get("role") == "kernel-part"]
