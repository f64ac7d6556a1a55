"""deps: the task dependency graph (RAW, WAR, WAW) from the access regions.

Requires: facts["access"] (passes/access.py).
Produces: facts["deps"], a list of `Edge`s between nodes, each naming the buffer and whether it is
loop-carried (and by which loop). An edge exists wherever two accesses to one buffer, at least one
a write, may overlap: within one iteration in program order, or from an earlier iteration of a
common loop to a later one. Where the boxes provably do not overlap there is no edge (column blocks
written by the iterations of a `pl.parallel`). A `pl.parallel` loop with a carried edge is a
compile error naming both accesses.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis.affine import Span, substitute
from ..errors import PlValueError
from ..frontend.affine import Affine
from ..ir.core import Op, Value
from .access import Access, Node

NAME = "deps"
MAX_ENUMERATED_DISTANCE = 4096


@dataclass(frozen=True)
class Edge:
    src: Node
    dst: Node
    kind: str  # "RAW", "WAR", "WAW"
    buffer: Value
    carried_by: Op | None = None  # the loop whose earlier iteration `src` runs in

    def fact(self) -> tuple[str, str, str, str, bool]:
        """A compact, comparable description: (src, dst, kind, buffer, carried)."""
        return (self.src.name, self.dst.name, self.kind, self.buffer.hint or "?", self.carried_by is not None)


def run(c):
    c.facts["deps"] = dependencies(c.facts["access"])
    return c


def dependencies(nodes: list[Node]) -> list[Edge]:
    edges: list[Edge] = []
    for i, a in enumerate(nodes):
        for b in nodes[i:]:
            common = _common_loops(a, b)
            if b is not a:
                edges += _conflicts(a, b, None)
            for loop in common:
                edges += _conflicts(a, b, loop)
                if b is not a:
                    edges += _conflicts(b, a, loop)
    _check_parallel(edges)
    return _dedup(edges)


def _common_loops(a: Node, b: Node) -> tuple[Op, ...]:
    out = []
    for x, y in zip(a.loops, b.loops):
        if x is not y:
            break
        out.append(x)
    return tuple(out)


def _conflicts(a: Node, b: Node, loop: Op | None) -> list[Edge]:
    """Edges from `a` to `b`: same iteration (loop None) or `a` in an earlier iteration of `loop`."""
    out = []
    for x in a.accesses:
        for y in b.accesses:
            if x.mode == "read" and y.mode == "read":
                continue
            for buf in x.buffers & y.buffers:
                if _may_overlap(x, y, loop, a, b):
                    kind = {("write", "read"): "RAW", ("read", "write"): "WAR"}.get((x.mode, y.mode), "WAW")
                    out.append(Edge(a, b, kind, buf, loop))
    return out


def _may_overlap(x: Access, y: Access, loop: Op | None, a: Node, b: Node) -> bool:
    if x.box is None or y.box is None:
        return True
    index = loop.regions[0].args[0] if loop is not None else None
    inner = {lp.regions[0].args[0] for n in (a, b) for lp in n.loops} - (
        {lp.regions[0].args[0] for lp in _outer_through(a, loop)} if loop is not None else
        {lp.regions[0].args[0] for lp in _common_loops(a, b)})
    distance = _distance_range(loop) if loop is not None else None
    if loop is not None and distance is None:
        return True
    for d in (range(1, distance + 1) if loop is not None else (0,)):
        if all(_dim_overlaps(sx, sy, index, d, inner) for sx, sy in zip(x.box, y.box)):
            return True
    return False


def _outer_through(a: Node, loop: Op) -> tuple[Op, ...]:
    """The loops of `a` down to and including `loop` (their indices are shared or related)."""
    out = []
    for lp in a.loops:
        out.append(lp)
        if lp is loop:
            break
    return tuple(out)


def _distance_range(loop: Op) -> int | None:
    start, stop, step = loop.start, loop.stop, loop.step
    if not all(isinstance(v, int) for v in (start, stop, step)):
        return None
    trips = max(0, (stop - start + step - 1) // step)
    if trips - 1 > MAX_ENUMERATED_DISTANCE:
        return None
    return max(0, trips - 1) * step


def _dim_overlaps(sx: Span | None, sy: Span | None, index: Value | None, d: int, inner: set) -> bool:
    """Whether [x.lo, x.hi) and [y.lo, y.hi) may intersect when y's `index` is x's plus d."""
    if sx is None or sy is None:
        return True
    if index is not None:
        shift = Affine.of_atom(index) + Affine(frozenset(), d)
        sy = Span(substitute(sy.lo, index, shift), substitute(sy.hi, index, shift))
    gaps = (sy.hi - sx.lo, sx.hi - sy.lo)  # both must be > 0 for an intersection
    for g in gaps:
        if any(atom in inner for atom, _ in g.terms):
            continue  # instances of an inner loop index differ: unknown
        if g.is_const and g.const <= 0:
            return False
    return True


def _check_parallel(edges: list[Edge]) -> None:
    for e in edges:
        if e.carried_by is not None and e.carried_by.kind == "parallel":
            x = next(a for a in e.src.accesses if e.buffer in a.buffers)
            y = next(a for a in e.dst.accesses if e.buffer in a.buffers)
            raise PlValueError(
                f"the iterations of this pl.parallel loop conflict: {e.src.name} ({x.mode} at {x.loc}) in one "
                f"iteration and {e.dst.name} ({y.mode} at {y.loc}) in a later one touch the same part of "
                f"'{e.buffer.hint}' ({e.kind}); use pl.range, or make each iteration use its own slice",
                e.carried_by.loc)


def _dedup(edges: list[Edge]) -> list[Edge]:
    seen, out = set(), []
    for e in edges:
        key = (id(e.src), id(e.dst), e.kind, id(e.buffer), id(e.carried_by))
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
