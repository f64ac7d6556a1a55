"""Read PTO-AS (the current spelling pto_asm.py emits) back into kernel IR.

Requires: the text of one kernel and its signature (the kernel function it was emitted from, or
one with the same parameters: names, types, directions, as kernel_config.json records them).
Produces: a kernel function the reference interpreter runs, so a kernel can be executed from its
emitted text and compared with the IR it came from.

Reading model: a tile buffer is a name bound to a tile value; each op writing `outs(%t)` rebinds
it, a loop carries the tiles and GM parameters its body writes. `tload` is a load of a GM window
(transposed when the tile's shape is the window's swapped), `tstore` an assemble into one, `tmov`
a copy (a transposed L1 tile stays transposed into L0), the rest map to one IR op each. Pipe flags
and barriers order the hardware's pipes; they have no meaning in program order and are dropped.
"""
from __future__ import annotations

import re
from pathlib import Path

from lark import Lark, Token, Tree

from ..ir import ops
from ..ir.core import Function, Op, Param, Region, Value
from ..ir.types import DTYPES_BY_NAME, INDEX, Loc, ScalarType, TensorType
from .spelling import ELEMENT

_LARK = Lark(Path(__file__).with_name("pto.lark").read_text(), parser="lalr")
_DTYPE = {v: DTYPES_BY_NAME[k] for k, v in ELEMENT.items()}
_TILE = re.compile(r"rows=(\d+), cols=(\d+)")
_ELEM = re.compile(r"dtype=(\w+)")

BINARY = {"tadd": ops.Add, "tsub": ops.Sub, "tmul": ops.Mul, "tdiv": ops.Div, "tmax": ops.Maximum,
          "tmin": ops.Minimum}
SCALAR = {"tadds": ops.Add, "tsubs": ops.Sub, "tmuls": ops.Mul, "tdivs": ops.Div, "tmaxs": ops.Maximum,
          "tmins": ops.Minimum}
UNARY = {"texp": ops.Exp, "tlog": ops.Log, "tsqrt": ops.Sqrt, "trsqrt": ops.Rsqrt, "trecip": ops.Recip,
         "trelu": ops.Relu, "tabs": ops.Abs, "tneg": ops.Neg}
REDUCE = {"trowsum": ops.RowSum, "trowmax": ops.RowMax}
EXPAND = {"trowexpandsub": ops.RowExpandSub, "trowexpandmul": ops.RowExpandMul, "trowexpanddiv": ops.RowExpandDiv,
          "trowexpandadd": ops.RowExpandAdd, "tcolexpandadd": ops.ColExpandAdd, "tcolexpandsub": ops.ColExpandSub,
          "tcolexpandmul": ops.ColExpandMul, "tcolexpanddiv": ops.ColExpandDiv}
ROUND = {"CAST_RINT": "rint", "CAST_ROUND": "round", "CAST_FLOOR": "floor", "CAST_CEIL": "ceil", "CAST_TRUNC": "trunc"}


class PtoReadError(Exception):
    pass


def read_kernel(text: str, signature: Function) -> Function:
    tree = _LARK.parse(text)
    reader = _Reader(signature, {str(a.children[0]): str(a.children[1]) for a in tree.find_data("alias")})
    func = next(tree.find_data("func"))
    reader.params(func)
    body = reader.block([c for c in func.children[1:] if isinstance(c, Tree) and c.data != "arg"])
    outs = [reader.env[reader.param_name[p.value]] for p in signature.params if p.direction in ("out", "inout")]
    body.ops.append(ops.Return(loc=reader.loc, values=tuple(outs)))
    return Function(signature.name, reader.param_list, body, [v.type for v in outs], dict(signature.attrs))


class _Reader:
    def __init__(self, signature: Function, aliases: dict[str, str]):
        self.sig, self.aliases = signature, aliases
        self.loc = signature.body.ops[-1].loc if signature.body.ops else Loc("<pto>", 0)
        self.env: dict[str, Value] = {}  # SSA name or tile/param name -> current value
        self.views: dict[str, tuple[str, tuple]] = {}  # tensor view name -> (param name, shape)
        self.windows: dict[str, tuple[str, Value]] = {}  # window name -> (param name, view value)
        self.transposed: set[str] = set()
        self.param_name: dict[Value, str] = {}
        self.param_list: list[Param] = []
        self.ops: list[Op] = []

    # --- helpers --------------------------------------------------------------------------------
    def emit(self, cls, **fields) -> Value:
        op = cls(loc=self.loc, **fields)
        op.results = [Value(t, owner=op) for t in op.infer()]
        self.ops.append(op)
        return op.results[0] if op.results else None

    def type_text(self, t: Tree) -> str:
        text = str(t.children[0])
        return self.aliases.get(text, text)

    def tile_type(self, t: Tree) -> TensorType:
        text = self.type_text(t)
        rows, cols = map(int, _TILE.search(text).groups())
        return TensorType((rows, cols), _DTYPE[_ELEM.search(text).group(1)])

    def is_transposed_load(self, t: Tree) -> bool:
        """An L1 (`loc=mat`) tile in row-major blocks is the transposed (DN) load of its window.
        The layout says it, not the shape: a square window looks the same either way."""
        text = self.type_text(t)
        return "loc=mat" in text and "blayout=row_major" in text

    # --- structure --------------------------------------------------------------------------------
    def params(self, func: Tree) -> None:
        names = [str(a.children[0]) for a in func.find_data("arg")]
        sig = [p for p in self.sig.params if p.direction != "block"]
        if len(names) != len(sig):
            raise PtoReadError(f"{len(names)} arguments in the text, {len(sig)} in the signature")
        for name, p in zip(names, sig):
            v = Value(p.value.type, p.value.hint)
            self.env[name] = v
            self.param_name[p.value] = name
            self.param_list.append(Param(v, p.direction))
        for p in self.sig.params:
            if p.direction == "block":
                self.block_param = Value(ScalarType(INDEX), "blk")
                self.param_list.append(Param(self.block_param, "block"))

    def block(self, stmts: list[Tree]) -> Region:
        saved, self.ops = self.ops, []
        for s in stmts:
            getattr(self, "s_" + s.data)(s)
        region, self.ops = Region([], self.ops), saved
        return region

    def s_flag(self, t: Tree) -> None:
        pass

    def s_assign(self, t: Tree) -> None:
        name, rhs = str(t.children[0]), t.children[1]
        self.env[name] = getattr(self, "r_" + rhs.data)(rhs, name)

    def r_constant(self, t: Tree, name: str) -> Value:
        text, ty = str(t.children[0]), self.type_text(t.children[1])
        dtype = INDEX if ty == "index" else _DTYPE[ty]
        return self.emit(ops.Const, value=float(text) if dtype.is_float else int(text), dtype=dtype)

    def r_arith(self, t: Tree, name: str) -> Value:
        cls = {"addi": ops.Add, "muli": ops.Mul, "subi": ops.Sub, "floordivsi": ops.Floordiv, "remsi": ops.Mod}
        return self.emit(cls[str(t.children[0])], lhs=self.env[str(t.children[1])], rhs=self.env[str(t.children[2])])

    def r_index_cast(self, t: Tree, name: str) -> Value:
        return self.env[str(t.children[0])]

    def r_block_idx(self, t: Tree, name: str) -> Value:
        return self.block_param

    def r_tensor_view(self, t: Tree, name: str) -> Value:
        param = str(t.children[0])
        shape = tuple(int(self.const_of(v)) for v in t.children[1].children if v is not None)
        self.views[name] = (param, shape)
        return self.env[param]

    def const_of(self, v: Token) -> int:
        owner = self.env[str(v)].owner
        if not isinstance(owner, ops.Const):
            raise PtoReadError(f"{v} is not a constant")
        return owner.value

    def view_of(self, tv: str) -> Value:
        """The tensor view over its parameter's current version (reshaped when the view's shape
        is not the parameter's)."""
        param, shape = self.views[tv]
        base = self.env[param]
        return base if base.type.shape == shape else self.emit(ops.Reshape, src=base, shape=shape)

    def r_window(self, t: Tree, name: str) -> Value:
        tv = str(t.children[1])
        offsets = tuple(self.env[str(v)] for v in t.children[2].children if v is not None)
        sizes = tuple(int(self.const_of(v)) for v in t.children[3].children if v is not None)
        offsets = tuple(o.owner.value if isinstance(o.owner, ops.Const) else o for o in offsets)
        view = self.emit(ops.Slice, src=self.view_of(tv), offsets=offsets, sizes=sizes)
        self.windows[name] = (self.views[tv][0], view)
        return view

    def r_load_scalar(self, t: Tree, name: str) -> Value:
        """One element of a parameter's current value, at a flat offset."""
        base, flat = self.env[str(t.children[0])], self.env[str(t.children[1])]
        total = 1
        for n in base.type.shape:
            total *= n
        row = base if base.type.shape == (total,) else self.emit(ops.Reshape, src=base, shape=(total,))
        offset = flat.owner.value if isinstance(flat.owner, ops.Const) else flat
        return self.emit(ops.Read, src=row, offsets=(offset,))

    def r_alloc(self, t: Tree, name: str) -> Value:
        return None  # bound by the first op writing it

    # --- ops ----------------------------------------------------------------------------------------
    def s_op(self, t: Tree) -> None:
        mnemonic = str(t.children[0])[4:]
        parts = {c.data: c for c in t.children[1:] if isinstance(c, Tree)}
        ins = [str(v) for v in parts["operands"].children] if "operands" in parts else []
        outs = [c for c in t.children[1:] if isinstance(c, Token) and c.type == "VALUE"]
        attrs = {str(a.children[0]): str(a.children[1]) for a in parts["attrs"].children} if "attrs" in parts else {}
        dst = str(outs[0]) if outs else None
        out_type = next((c for c in t.children[1:] if isinstance(c, Tree) and c.data == "type"), None)
        self.env[dst] = self.apply(mnemonic, ins, dst, out_type, attrs) if dst else self.effect(mnemonic, ins, attrs)

    def apply(self, m: str, ins: list[str], dst: str, out_type: Tree, attrs: dict) -> Value:
        v = [self.env.get(n) for n in ins]
        if m == "tload":
            param, window = self.windows[ins[0]]
            loaded = self.emit(ops.Load, src=window)
            if self.is_transposed_load(out_type):
                self.transposed.add(dst)
            return loaded
        if m == "tstore":
            param, window = self.windows[dst]
            self.env[param] = self.emit(ops.Assemble, dst=window, src=v[0], offsets=(0,) * len(window.type.shape))
            return window
        if m == "tmov":
            if ins[0] in self.transposed:
                self.transposed.add(dst)
            return v[0]
        if m in BINARY:
            return self.emit(BINARY[m], lhs=v[0], rhs=v[1])
        if m in SCALAR:
            return self.emit(SCALAR[m], lhs=v[0], rhs=v[1])
        if m in UNARY:
            return self.emit(UNARY[m], src=v[0])
        if m in REDUCE:
            return self.emit(REDUCE[m], src=v[0])
        if m in EXPAND:
            return self.emit(EXPAND[m], src=v[0], vec=v[1])
        if m == "tcolexpand":
            return self.emit(ops.ColExpand, src=self.shape_like(out_type), vec=v[0])
        if m == "trowexpand":
            return self.emit(ops.RowExpand, src=self.shape_like(out_type), vec=v[0])
        if m == "tcvt":
            mode = ROUND[re.search(r"round_mode (\w+)", attrs.get("rmode", "CAST_RINT")).group(1)] if "rmode" in attrs else "rint"
            return self.emit(ops.Cast, src=v[0], dtype=self.tile_type(out_type).dtype, mode=mode)
        if m == "texpands":
            return self.emit(ops.Full, shape=self.tile_type(out_type).shape, dtype=self.tile_type(out_type).dtype,
                             value=v[0].owner.value)
        if m in ("tmatmul", "tmatmul.acc"):
            lhs, rhs = ins[-2:]
            fields = dict(lhs=self.env[lhs], rhs=self.env[rhs], a_trans=lhs in self.transposed,
                          b_trans=rhs in self.transposed)
            if m == "tmatmul":
                return self.emit(ops.Matmul, out_dtype=self.tile_type(out_type).dtype, **fields)
            return self.emit(ops.MatmulAcc, acc=v[0], **fields)
        if m.startswith("tpop_from_"):
            t = self.tile_type(out_type)
            return self.emit(ops.TPop, channel=int(attrs["id"]), shape=t.shape, dtype=t.dtype)
        raise PtoReadError(f"pto.{m} is not read")

    def shape_like(self, out_type: Tree) -> Value:
        t = self.tile_type(out_type)
        return self.emit(ops.Full, shape=t.shape, dtype=t.dtype, value=0.0 if t.dtype.is_float else 0)

    def effect(self, m: str, ins: list[str], attrs: dict) -> Value | None:
        if m.startswith("tpush_to_"):
            self.emit(ops.TPush, value=self.env[ins[0]], channel=int(attrs["id"]))
            return None
        raise PtoReadError(f"pto.{m} is not read")

    def s_extract(self, t: Tree) -> None:
        src, r, c, _, dst, out_type = t.children[1:]
        shape = self.tile_type(out_type).shape
        offsets = tuple(self.env[str(x)] for x in (r, c))
        offsets = tuple(o.owner.value if isinstance(o.owner, ops.Const) else o for o in offsets)
        self.env[str(dst)] = self.emit(ops.Slice, src=self.env[str(src)], offsets=offsets, sizes=shape)

    # --- loops -----------------------------------------------------------------------------------------
    def s_loop(self, t: Tree) -> None:
        iv, start, stop, step, *stmts = t.children
        written = self.written(stmts)
        carried = [n for n in written if self.env.get(n) is not None]
        init = tuple(self.env[n] for n in carried)
        index = Value(ScalarType(INDEX), "i")
        args = [Value(v.type, v.hint) for v in init]
        saved = dict(self.env)
        self.env[str(iv)] = index
        self.env.update(zip(carried, args))
        bound = [self.env[str(x)] for x in (start, stop, step)]
        bound = [b.owner.value if isinstance(b.owner, ops.Const) else b for b in bound]
        body = self.block([s for s in stmts if isinstance(s, Tree)])
        body.args = [index] + args
        body.ops.append(ops.Yield(loc=self.loc, values=tuple(self.env[n] for n in carried)))
        loop = ops.ForLoop(loc=self.loc, start=bound[0], stop=bound[1], step=bound[2], init=init, kind="range",
                           regions=[body])
        loop.results = [Value(a.type, a.hint, owner=loop) for a in args]
        self.ops.append(loop)
        self.env = saved
        self.env.update(zip(carried, loop.results))

    def written(self, stmts: list) -> list[str]:
        """Tile names (outs) and parameters (tstore targets) a loop body writes, in order."""
        names: dict[str, None] = {}
        for s in stmts:
            for node in s.iter_subtrees_topdown():
                if node.data in ("op", "extract"):
                    tokens = [c for c in node.children if isinstance(c, Token) and c.type == "VALUE"]
                    mnemonic = str(node.children[0])
                    if mnemonic == "pto.tstore" and tokens:
                        names[self.windows_param(stmts, str(tokens[-1]))] = None
                    elif tokens and mnemonic != "pto.tpush_to_aiv" and mnemonic != "pto.tpush_to_aic":
                        names[str(tokens[-1])] = None
        return list(names)

    def windows_param(self, stmts: list, window: str) -> str:
        """The parameter a window (made in this loop body) views, through its tensor view (made
        before the loop or in the body: a reshape is a new view)."""
        rhs = self.defined_in(stmts, window)
        if rhs is None:
            raise PtoReadError(f"the window {window} is not defined in the loop body")
        tv = str(rhs.children[1])
        if tv in self.views:
            return self.views[tv][0]
        view = self.defined_in(stmts, tv)
        if view is None or view.data != "tensor_view":
            raise PtoReadError(f"the tensor view {tv} is not defined")
        return str(view.children[0])

    def defined_in(self, stmts: list, name: str) -> Tree | None:
        for s in stmts:
            for node in s.iter_subtrees_topdown():
                if node.data == "assign" and str(node.children[0]) == name:
                    return node.children[1]
        return None
