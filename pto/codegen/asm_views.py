"""GM views of a PTO-AS kernel: tensor views over the pointer parameters, windows (slices) of them,
reshapes expressed as new tensor views, and stores (`tstore`) into a window."""
from __future__ import annotations

from ..ir import ops
from ..ir.core import Op, Value
from ..ir.types import TensorType
from .asm_base import Unsupported


class ViewOps:
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
        """A reshape of GM is a new tensor view over the same pointer: of the whole parameter, or
        of a window contiguous in memory (rows of full width, or a run of one row) as a column
        [n, 1], a row [1, n], or [a, b] when the window starts at a multiple of b elements."""
        if op.src not in self.views:
            raise Unsupported("a reshape of a tile", op.loc)
        param, base = self.views[op.src]
        src_shape, new = op.src.type.shape, tuple(op.shape)
        total = _size(param.type.shape)
        if _size(src_shape) == total and all(b == 0 for b in base):
            self.views[op.results[0]] = (self.reshaped_param(param, new), (0,) * len(new))
            return
        if len(new) != 2 or not _contiguous(src_shape, param.type.shape):
            raise Unsupported("a reshape of a GM window that is not contiguous in memory", op.loc)
        strides = _strides(param.type.shape)
        if new[1] == 1 or new[0] != 1:
            row = self.scaled_offset(base, strides, new[1])
            if row is None:
                raise Unsupported(f"a reshape of a GM window into rows of {new[1]} that does not start "
                                  "at a row boundary", op.loc)
            self.views[op.results[0]] = (self.reshaped_param(param, (total // new[1], new[1])), (row, 0))
        else:
            flat = self.scaled_offset(base, strides, 1)
            self.views[op.results[0]] = (self.reshaped_param(param, (1, total)), (0, flat))

    def scaled_offset(self, base: tuple, strides: list, b: int):
        """The flat element offset of `base` divided by `b`, as an index, or None when it is not
        provably a multiple of b (every dynamic offset's stride and every static term must be)."""
        if any(not isinstance(o, int) and st % b for o, st in zip(base, strides)):
            return None
        static = sum(o * st for o, st in zip(base, strides) if isinstance(o, int))
        if static % b:
            return None
        offset = static // b
        for o, st in zip(base, strides):
            if not isinstance(o, int):
                term = o if st == b else self.mul_index(o, st // b)
                offset = self.add_index(offset, term)
        return offset

    def mul_index(self, a, n: int) -> str:
        name = self.fresh("i")
        self.line(f"{name} = arith.muli {self.index(a)}, {self.index_const(n)} : index")
        return name

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

    def op_Assemble(self, op: Op) -> None:
        if op.dst not in self.views:
            raise Unsupported("an assemble into a tile (only stores to GM are expressed)", op.loc)
        src = self.operand(op.src, "vec", op.loc)
        pipe = "PIPE_FIX" if src.home == "acc" else "PIPE_MTE3"
        self.sync(src, pipe, write=False)
        win, wt = self.window(op.dst, op.src.type.shape, op.offsets)
        self.line(f"pto.tstore ins({src.name} : {src.type}) outs({win} : {wt})")
        self.gm_stored[self.names[self.views[op.dst][0]]] = (pipe, set())
        self.views[op.results[0]] = self.views[self.root_view(op.dst, op.results[0].type)]

    def root_view(self, v: Value, t) -> Value:
        """The whole GM value (of type `t`) a window was cut from, through slices and reshapes."""
        while isinstance(v.owner, (ops.Slice, ops.Reshape)) and v.type != t:
            v = v.owner.src
        return v


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _strides(shape) -> list:
    return [_size(shape[i + 1:]) for i in range(len(shape))]


def _contiguous(window: tuple, whole: tuple) -> bool:
    """A row-major window is one run of memory when, after its first dimension longer than 1,
    every dimension is whole."""
    k = next((i for i, n in enumerate(window) if n != 1), len(window))
    return all(w == p for w, p in zip(window[k + 1:], whole[k + 1:]))

