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

from ..analysis.affine import Span, atoms, substitute
from ..errors import PlValueError
from ..frontend.affine import Affine
from ..ir.core import Op, Value
from .access import Access, Node, is_instance_atom

NAME = "deps"


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
    for i, j in _candidate_pairs(nodes):
        a, b = nodes[i], nodes[j]
        if b is not a:
            edges += _conflicts(a, b, None)
        for loop in _common_loops(a, b):
            edges += _conflicts(a, b, loop)
            if b is not a:
                edges += _conflicts(b, a, loop)
    _check_parallel(edges)
    for n in nodes:
        _check_blocks(n)
    return _dedup(edges)


def _candidate_pairs(nodes: list[Node]) -> list[tuple[int, int]]:
    """(i, j), i <= j, in program order: the pairs of nodes (a node with itself included, for its
    other iterations) that share a buffer one of them writes. Only these can conflict; finding them
    through each buffer's users keeps a program of many independent stages from costing every
    pair of its tasks."""
    users: dict[Value, list[int]] = {}
    writers: dict[Value, list[int]] = {}
    for i, n in enumerate(nodes):
        for acc in n.accesses:
            for buf in acc.buffers:
                users.setdefault(buf, []).append(i)
                if acc.mode == "write":
                    writers.setdefault(buf, []).append(i)
    pairs = {(min(w, u), max(w, u)) for buf, ws in writers.items() for w in dict.fromkeys(ws)
             for u in dict.fromkeys(users[buf])}
    return sorted(pairs)


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
    """Whether instance x (of task a) and instance y (of task b) may touch a common element: in the
    same iteration of every common loop (loop None), or with y `m >= 1` iterations of `loop` later
    (outer loops equal). Loop indices that are not tied between the two instances are renamed on
    y's side, so they never cancel out."""
    if x.box is None or y.box is None:
        return True
    tied = _outer_through(a, loop) if loop is not None else _common_loops(a, b)
    tied_indices = {lp.regions[0].args[0] for lp in tied}
    free = ({lp.regions[0].args[0] for n in (a, b) for lp in n.loops} - tied_indices) | {a.block, b.block}
    free |= {t for acc in (x, y) for span in acc.box if span is not None for t in atoms(span)
             if is_instance_atom(t, a) or is_instance_atom(t, b)}
    m_lo, m_hi = (1, _max_distance(loop)) if loop is not None else (0, 0)
    ranges = _index_ranges(a.loops + b.loops, free, (a, b))
    for sx, sy in zip(x.box, y.box):
        if sx is None or sy is None:
            continue
        sy = _rename(sy, free)
        if loop is not None:
            index = loop.regions[0].args[0]
            shifted = Affine.of_atom(index) + Affine.of_atom(_DISTANCE).scale(loop.step)
            sy = Span(substitute(sy.lo, index, shifted), substitute(sy.hi, index, shifted))
        for gap in (sy.hi - sx.lo, sx.hi - sy.lo):  # both must be > 0 for an intersection
            m_lo, m_hi = _constrain(gap, m_lo, m_hi, ranges)
            if m_hi is not None and m_lo > m_hi:
                return False
    return True


_DISTANCE = "iterations apart"  # the atom m: how many iterations later the second instance runs


def _rename(span: Span, free: set) -> Span:
    for atom in free:
        other = Affine.of_atom(("other instance", atom))
        span = Span(substitute(span.lo, atom, other), substitute(span.hi, atom, other))
    return span


def _index_ranges(loops: tuple[Op, ...], free: set, nodes: tuple[Node, ...] = ()) -> dict:
    """The values the free loop indices and block indices (on both instances) can take, where the
    bounds are known."""
    out = {}
    for n in nodes:
        out[n.block] = out[("other instance", n.block)] = (0, n.blocks - 1)
    for lp in loops:
        index, bounds = lp.regions[0].args[0], _bounds(lp)
        if index in free and bounds is not None:
            out[index] = out[("other instance", index)] = bounds
    return out


def _bounds(loop: Op) -> tuple[int, int] | None:
    start, stop, step = loop.start, loop.stop, loop.step
    if not all(isinstance(v, int) for v in (start, stop, step)) or stop <= start:
        return None
    return start, start + (stop - start - 1) // step * step


def _constrain(gap: Affine, lo: int, hi: int | None, ranges: dict) -> tuple[int, int | None]:
    """Narrow m's range [lo, hi] (hi None: unbounded) to where `gap > 0` may hold, taking the most
    each free index can add; an unknown term (a value read from a tensor) leaves it as it was."""
    coeffs = dict(gap.terms)
    c = coeffs.pop(_DISTANCE, 0)
    k = gap.const
    for atom, coeff in coeffs.items():
        if atom not in ranges:
            return lo, hi
        first, last = ranges[atom]
        k += max(coeff * first, coeff * last)
    if c == 0:
        return (lo, hi) if k > 0 else (1, 0)
    if c > 0:  # c*m + k > 0  <=>  m > -k / c
        return max(lo, -k // c + 1), hi
    bound = (k - 1) // -c  # c*m + k > 0 with c < 0  <=>  m < k / -c  <=>  m <= (k - 1) // -c
    return lo, bound if hi is None else min(hi, bound)


def _outer_through(a: Node, loop: Op) -> tuple[Op, ...]:
    """The loops of `a` down to and including `loop` (their indices are shared or related)."""
    out = []
    for lp in a.loops:
        out.append(lp)
        if lp is loop:
            break
    return tuple(out)


def _max_distance(loop: Op) -> int | None:
    """The most iterations apart two instances of `loop`'s body can be; None when unknown."""
    start, stop, step = loop.start, loop.stop, loop.step
    if not all(isinstance(v, int) for v in (start, stop, step)):
        return None
    return max(0, (stop - start + step - 1) // step - 1)


def _check_blocks(n: Node) -> None:
    """The blocks of one SPMD task run at once. When two of its accesses, one a write, touch the
    same box in every block (offsets that do not depend on the block index), every pair of blocks
    races: an error at the pl.spmd line. Partial or data-dependent collisions cannot be told from
    the hulls kept here and are left to the simulator's sanitizer."""
    if n.blocks < 2:
        return
    for x in n.accesses:
        for y in n.accesses:
            if "write" not in (x.mode, y.mode) or not x.buffers & y.buffers:
                continue
            if _same_box_in_every_block(x, y, n):
                buf = next(iter(x.buffers & y.buffers))
                raise PlValueError(
                    f"the blocks of this pl.spmd ({n.name}) conflict: every block {x.mode}s (at {x.loc}) and "
                    f"{y.mode}s (at {y.loc}) the same part of '{buf.hint}'; give each block its own rows or "
                    f"columns (offsets from the block index), or use a pl.range loop", n.op.loc)


def _same_box_in_every_block(x: Access, y: Access, n: Node) -> bool:
    if x.box is None or y.box is None:
        return False
    for sx, sy in zip(x.box, y.box):
        if sx is None or sy is None:
            return False
        sy = _rename(sy, {t for t in atoms(sy) if is_instance_atom(t, n)})  # y runs in another block
        gaps = (sy.hi - sx.lo, sx.hi - sy.lo)
        if not all(g.is_const and g.const > 0 for g in gaps):
            return False  # depends on the block (or on data): not certainly shared
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
