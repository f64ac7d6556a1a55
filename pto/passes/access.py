"""access: for every task, the buffer regions it reads and writes.

Requires: an outlined program (passes/outline.py).
Produces: facts["access"], one `Node` per task (`pl.call`) and per orchestration-side scalar access
(`pl.read` / `pl.write` on memory), in program order, each with its accesses: the buffers touched
(orchestration roots: parameters and create_tensor results), read or write, and the box, one `Span`
per dimension in buffer coordinates. A span is affine in orchestration loop indices and scalars;
kernel loop indices are replaced by the hull they sweep; the block index of an SPMD task stays an
atom of the task (`Node.block`), so its blocks can be told apart. A dimension whose
offset is data dependent (read from a tensor) stays affine in an opaque atom, so nothing can prove
it disjoint from anything: the conservative answer. A view through a reshape counts as the whole
buffer (box None). A `pl.scatter` writes (and with reduce="add" also reads) its whole destination
view: its targets are data, so every later reader of any part of that view is ordered after it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis.affine import Span, affine, atoms, eliminate, substitute
from ..analysis.memory import buffer_roots
from ..frontend.affine import Affine
from ..ir import ops
from ..ir.core import Function, Op, Program, Region, Value
from ..ir.types import Loc, TensorType

NAME = "access"

Box = tuple[Span | None, ...] | None


@dataclass(frozen=True)
class Access:
    buffers: frozenset[Value]
    mode: str  # "read" or "write"
    box: Box
    loc: Loc


@dataclass
class Node:
    name: str
    op: Op
    accesses: list[Access]
    loops: tuple[Op, ...]  # enclosing orchestration loops, outermost first
    order: int
    blocks: int = 1  # SPMD blocks of the task; its boxes are affine in `block` when > 1

    @property
    def block(self) -> tuple:
        """The atom standing for this task's block index in its boxes."""
        return ("block", id(self.op))


def run(c):
    c.facts["access"] = analyze(c.program)
    return c


def analyze(program: Program) -> list[Node]:
    kernels = {f.name: f for f in program.functions[1:]}
    walker = _Orchestration(program.entry, kernels)
    walker.region(program.entry.body, ())
    return walker.nodes


# --- views ------------------------------------------------------------------------------------
def view_box(v: Value) -> tuple[Value, tuple[tuple[Affine, int], ...] | None]:
    """(the value v views, its box there as (offset, size) per dim); box None after a reshape."""
    o = v.owner
    if isinstance(o, ops.Slice):
        base, box = view_box(o.src)
        if box is None:
            return base, None
        return base, tuple((off + affine(x), s) for (off, _), x, s in zip(box, o.offsets, o.sizes))
    if isinstance(o, ops.Reshape):
        return view_box(o.src)[0], None
    return v, tuple((Affine(frozenset(), 0), d) for d in v.type.shape)


def _shifted(box, offsets: tuple, sizes: tuple) -> tuple | None:
    if box is None:
        return None
    return tuple((off + affine(x), s) for (off, _), x, s in zip(box, offsets, sizes))


def _spans(box) -> Box:
    return None if box is None else tuple(Span(off, off + Affine(frozenset(), s)) for off, s in box)


def _uses(op: Op) -> list[tuple[Value, str, tuple | None, tuple | None]]:
    """(value, mode, extra offsets, sizes) for each memory-like operand use of `op`."""
    if isinstance(op, (ops.Slice, ops.Reshape, ops.Yield, ops.Return, ops.ForLoop)):
        return []
    if isinstance(op, ops.Assemble):
        return [(op.dst, "write", op.offsets, op.src.type.shape), (op.src, "read", None, None)]
    if isinstance(op, ops.Write):
        return [(op.dst, "write", op.offsets, (1,) * len(op.offsets))]
    if isinstance(op, ops.Scatter):  # data-dependent targets: the whole destination view
        dst = [(op.dst, "read", None, None)] if op.reduce is not None else []
        return dst + [(op.dst, "write", None, None), (op.index, "read", None, None), (op.src, "read", None, None)]
    if isinstance(op, ops.Read):
        return [(op.src, "read", op.offsets, (1,) * len(op.offsets))]
    return [(v, "read", None, None) for v in op.operands() if isinstance(v.type, TensorType)]


def _loop_range(loop: Op) -> tuple[int, int] | None:
    start, stop, step = loop.start, loop.stop, loop.step
    if not all(isinstance(x, int) for x in (start, stop, step)) or stop <= start:
        return None
    return start, start + (stop - start - 1) // step * step


# --- kernels ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamAccess:
    param: int
    mode: str
    box: Box  # affine in the kernel's scalar parameters only
    loc: Loc


def summarize_kernel(kernel: Function) -> list[ParamAccess]:
    """The accesses of one kernel to its buffer parameters, kernel loop indices eliminated; the
    block index stays (the block parameter is an atom), so blocks can be compared with each other."""
    roots = buffer_roots(kernel)
    index = {p.value: i for i, p in enumerate(kernel.params)}
    ranges: dict[Value, tuple[int, int] | None] = {}
    for op in kernel.walk():
        if isinstance(op, ops.ForLoop):
            ranges[op.regions[0].args[0]] = _loop_range(op)
    out: list[ParamAccess] = []
    for op in kernel.walk():
        for v, mode, offsets, sizes in _uses(op):
            base, box = view_box(v)
            if base not in roots:
                continue
            if offsets is not None:
                box = _shifted(box, offsets, sizes)
            spans = _eliminate(_spans(box), ranges)
            for root in roots[base]:
                out.append(ParamAccess(index[root], mode, spans, op.loc))
    return out


def _eliminate(box: Box, ranges: dict) -> Box:
    if box is None:
        return None
    out = []
    for span in box:
        for atom in atoms(span) & set(ranges):
            if span is None:
                break
            r = ranges[atom]
            span = None if r is None else eliminate(span, atom, *r)
        out.append(span)
    return tuple(out)


# --- the orchestration ------------------------------------------------------------------------
class _Orchestration:
    def __init__(self, entry: Function, kernels: dict[str, Function]):
        self.roots = buffer_roots(entry)
        self.orchestration_values = {p.value for p in entry.params}
        for op in entry.walk():
            self.orchestration_values.update(op.results)
            for r in op.regions:
                self.orchestration_values.update(r.args)
        self.kernels = kernels
        self.summaries: dict[str, list[ParamAccess]] = {}
        self.nodes: list[Node] = []

    def region(self, region: Region, loops: tuple[Op, ...]) -> None:
        for op in region.ops:
            if isinstance(op, ops.Call):
                self.call(op, loops)
            elif isinstance(op, (ops.Read, ops.Write)):
                self.scalar_access(op, loops)
            inner = loops + (op,) if isinstance(op, ops.ForLoop) else loops
            for r in op.regions:
                self.region(r, inner)

    def call(self, op: Op, loops: tuple[Op, ...]) -> None:
        kernel = self.kernels[op.kernel]
        if op.kernel not in self.summaries:
            self.summaries[op.kernel] = summarize_kernel(kernel)
        params = [p for p in kernel.params if p.direction != "block"]
        scalars = {p.value: a for p, a in zip(params, op.args) if not isinstance(a.type, TensorType)}
        node = Node(op.kernel, op, [], loops, len(self.nodes), op.blocks)
        block = next((p.value for p in kernel.params if p.direction == "block"), None)
        accesses = []
        for pa in self.summaries[op.kernel]:
            box = pa.box
            if box is not None:
                box = tuple(None if s is None else self.localize(_bind(s, scalars, block, node.block), node)
                            for s in box)
            accesses.append(Access(self.roots.get(op.args[pa.param], frozenset()), pa.mode, box, pa.loc))
        node.accesses = accesses
        self.nodes.append(node)

    def localize(self, span: Span, node: Node) -> Span:
        """Values computed inside the kernel (a read, a floor division of the block index) differ
        from one task instance to the next: they become atoms of this instance (`local_atom`)."""
        for atom in atoms(span):
            if isinstance(atom, Value) and atom not in self.orchestration_values:
                local = Affine.of_atom(local_atom(node, atom))
                span = Span(substitute(span.lo, atom, local), substitute(span.hi, atom, local))
        return span

    def scalar_access(self, op: Op, loops: tuple[Op, ...]) -> None:
        accesses = []
        for v, mode, offsets, sizes in _uses(op):
            base, box = view_box(v)
            if base in self.roots:
                spans = _spans(_shifted(box, offsets, sizes))
                accesses.append(Access(self.roots[base], mode, spans, op.loc))
        if accesses:
            kind = "write" if isinstance(op, ops.Write) else "read"
            self.nodes.append(Node(f"{kind}@{op.loc.line}", op, accesses, loops, len(self.nodes)))


def local_atom(node: Node, value: Value) -> tuple:
    return ("local", id(node.op), value)


def is_instance_atom(atom: object, node: Node) -> bool:
    """Atoms that take another value in another instance of the node's task (or another block)."""
    return atom == node.block or (isinstance(atom, tuple) and atom[0] == "local" and atom[1] == id(node.op))


def _bind(span: Span, scalars: dict[Value, Value], block: Value | None, block_atom: tuple) -> Span:
    """A kernel's span at one call: scalar parameters replaced by the call's arguments, the block
    parameter by the task's block atom."""
    for param, arg in scalars.items():
        span = Span(substitute(span.lo, param, affine(arg)), substitute(span.hi, param, affine(arg)))
    if block is not None:
        atom = Affine.of_atom(block_atom)
        span = Span(substitute(span.lo, block, atom), substitute(span.hi, block, atom))
    return span
