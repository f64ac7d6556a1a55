"""memplan: one GM workspace for every intermediate buffer, with reuse ordered by the graph.

Requires: facts["access"] and facts["deps"] (the dependency graph).
Produces: an `offset` on every `pl.create_tensor` of the orchestration, the entry's `workspace`
size, and facts["memplan"] (a `Plan`, whose `reuse_edges` complete facts["deps"] as the ordering a
schedule must respect).

Lifetimes live on the orchestration's timeline (ops numbered in program order, a region spanning
its body). A buffer lives from its allocation (the create_tensor) to its last use; a buffer used
inside a loop it was created outside of is live for the whole loop.
  * auto_scope=True: allocations first sink to just before their first use, and a buffer is
    released after its last use (the tightest lifetimes);
  * auto_scope=False: creation stays where the user wrote it and a buffer lives to the end of the
    innermost `pl.scope` that created it (the function's end when none), as the runtime releases
    scope-local tensors at scope exit.
Buffers are placed largest first, each at the lowest offset where the tasks touching the buffers
it would share bytes with are already ordered with its own by the dependencies (a reuse that adds
no ordering), else first fit; neither raises the workspace above first fit's.
Two buffers may share bytes only when their lifetimes are disjoint; the plan then adds "REUSE"
edges from every task touching the earlier occupant to every task touching the later one (and, for
two buffers of one loop body, loop-carried edges back), so no schedule can overlap them.
`check_plan` re-verifies the finished plan independently of how it was made.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from ..analysis.control import conditional_ops
from ..analysis.memory import buffer_roots
from ..ir import ops
from ..ir.core import Function, Op, Region, Value
from .access import Node
from .deps import Edge

NAME = "memplan"
ALIGN = 512  # bytes; GM allocations are 512-byte aligned


@dataclass
class Alloc:
    buffer: Value
    op: Op
    size: int
    start: int
    end: int  # inclusive
    loops: tuple[Op, ...]  # orchestration loops around the create op
    offset: int = -1

    @property
    def name(self) -> str:
        return self.buffer.hint or "?"

    def live_at(self, t: int) -> bool:
        return self.start <= t <= self.end


@dataclass
class Plan:
    allocs: list[Alloc]
    workspace: int  # planned peak: bytes of the workspace
    naive: int  # bytes with no reuse at all
    lower_bound: int  # max over program points of the bytes live there
    reuse_edges: list[Edge] = field(default_factory=list)
    timeline: "_Timeline | None" = None

    def live_bytes(self, t: int) -> int:
        return sum(a.size for a in self.allocs if a.live_at(t))


def run(c):
    entry = c.program.entry
    if entry.attrs.get("auto_scope") is not False:
        sink_allocations(entry.body)
    plan = plan_memory(entry, c.facts["access"], c.facts["deps"])
    c.facts["memplan"] = plan
    for a in plan.allocs:
        a.op.offset = a.offset
    entry.attrs = {**entry.attrs, "workspace": plan.workspace}
    check_plan(plan, c.facts["access"], c.facts["deps"] + plan.reuse_edges)
    return c


# --- timeline and lifetimes -----------------------------------------------------------------------
def sink_allocations(region: Region) -> None:
    """With automatic scopes a buffer is allocated where it is first needed: each create_tensor
    moves down to just before the first op of its region that uses it (an allocation is where the
    buffer's lifetime starts, however early the user declared it); one unused stays before the
    region's last op. Creations that land before the same op keep their order."""
    for op in region.ops:
        for r in op.regions:
            sink_allocations(r)
    creates = [op for op in region.ops if isinstance(op, ops.CreateTensor)]
    rest = [op for op in region.ops if not isinstance(op, ops.CreateTensor)]
    if not creates or not rest:
        return
    first_use: dict[Value, int] = {}
    for i, op in enumerate(rest):
        for v in _values_used(op):
            first_use.setdefault(v, i)
    before: dict[int, list[Op]] = {}
    for create in creates:
        before.setdefault(first_use.get(create.results[0], len(rest) - 1), []).append(create)
    region.ops[:] = [x for i, op in enumerate(rest) for x in (*before.get(i, ()), op)]


def _values_used(op: Op):
    """The operands of `op` and of every op nested in it."""
    yield from op.operands()
    for r in op.regions:
        for inner in r.ops:
            yield from _values_used(inner)


class _Timeline:
    def __init__(self, f: Function):
        self.time: dict[Op, int] = {}
        self.end: dict[Op, int] = {}
        self.loops: dict[Op, tuple[Op, ...]] = {}
        self.scope: dict[Op, Op | None] = {}
        self.clock = 0
        self.root = f.body
        self.walk(f.body, (), None)
        self.last = self.clock

    def walk(self, region: Region, loops: tuple[Op, ...], scope: Op | None) -> None:
        for op in region.ops:
            self.time[op] = self.clock
            self.loops[op] = loops
            self.scope[op] = scope
            self.clock += 1
            inner_loops = loops + (op,) if isinstance(op, ops.ForLoop) else loops
            inner_scope = op if isinstance(op, ops.Scope) else scope
            for r in op.regions:
                self.walk(r, inner_loops, inner_scope)
            self.end[op] = self.clock - 1


def _lifetimes(f: Function, tl: _Timeline) -> list[Alloc]:
    roots = buffer_roots(f)
    creates = [op for op in f.walk() if isinstance(op, ops.CreateTensor)]
    uses: dict[Value, list[tuple[int, int]]] = {op.results[0]: [] for op in creates}
    for op in f.walk():
        for v in op.operands():
            for b in roots.get(v, ()):
                if b in uses:
                    uses[b].append(use_span(op, b.owner, tl))
    manual = f.attrs.get("auto_scope") is False
    out = []
    for op in creates:
        b = op.results[0]
        spans = uses[b] or [(tl.time[op], tl.time[op])]
        start = tl.time[op]  # allocation (the runtime hands out fresh, poisoned memory here)
        end = max(e for _, e in spans)
        if manual:
            scope = tl.scope[op]
            end = max(end, tl.end[scope] if scope is not None else tl.last)
        out.append(Alloc(b, op, _aligned(b.type.nbytes), start, end, tl.loops[op]))
    return out


def use_span(use: Op, create: Op, tl: _Timeline) -> tuple[int, int]:
    """When a use keeps a buffer live: its own time, or the whole of every loop around the use
    that does not also contain the buffer's creation."""
    start = end = tl.time[use]
    for loop in tl.loops[use]:
        if loop not in tl.loops[create]:
            start, end = min(start, tl.time[loop]), max(end, tl.end[loop])
    return start, end


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


# --- placement --------------------------------------------------------------------------------------
def plan_memory(f: Function, nodes: list[Node], deps: list[Edge]) -> Plan:
    tl = _Timeline(f)
    allocs = _lifetimes(f, tl)
    graph = nx.DiGraph()
    graph.add_nodes_from(id(n) for n in nodes)
    graph.add_edges_from((id(e.src), id(e.dst)) for e in deps if e.carried_by is None)
    in_if = conditional_ops(tl.root)
    orders = _Orders(graph, {id(n) for n in nodes if id(n.op) in in_if})
    users = _users(nodes)
    ordered = _ordered_by_deps(allocs, orders, users)
    placed: list[Alloc] = []
    for a in sorted(allocs, key=lambda x: (-x.size, x.start)):
        a.offset = _placement(a, placed, ordered)
        placed.append(a)
    workspace = max((a.offset + a.size for a in allocs), default=0)
    plan = Plan(allocs, workspace, sum(a.size for a in allocs), _most_live_bytes(allocs), timeline=tl)
    plan.reuse_edges = _reuse_edges(plan, orders, users)
    return plan


def _most_live_bytes(allocs: list[Alloc]) -> int:
    """The liveness lower bound: the most bytes live at one time (lifetimes are inclusive, so at
    equal times a start counts before an end). One sweep over the starts and ends."""
    events = sorted([(a.start, 0, a.size) for a in allocs] + [(a.end, 1, -a.size) for a in allocs])
    live = most = 0
    for _, _, delta in events:
        live += delta
        most = max(most, live)
    return most


def _sharing_pairs(allocs: list[Alloc]) -> dict[int, list[Alloc]]:
    """id(a) -> the allocations sharing bytes with a, in the order of `allocs`: a sweep over
    offsets instead of every pair (a program of many stages has hundreds of buffers)."""
    index = {id(a): i for i, a in enumerate(allocs)}
    by_offset = sorted(allocs, key=lambda a: a.offset)
    partners: dict[int, list[Alloc]] = {id(a): [] for a in allocs}
    for i, a in enumerate(by_offset):
        for b in by_offset[i + 1:]:
            if b.offset >= a.offset + a.size:
                break
            if _share_bytes(a, b):
                partners[id(a)].append(b)
                partners[id(b)].append(a)
    for group in partners.values():
        group.sort(key=lambda b: index[id(b)])
    return partners


# Offsets tried per buffer. On the small CSA decode layer 8 took its critical path from 151 us to
# 144 us, 32 to 115 us (the manual-scope version's); 64 changed nothing.
CANDIDATES = 32


def _placement(a: Alloc, placed: list[Alloc], ordered) -> int:
    """First fit, unless the buffers it would share bytes with are used by tasks the program does
    not already order with a's: then the lowest offset among the next ones that fit, without
    raising the workspace above what is placed (or what first fit needs), where they all are. A
    reuse between tasks the program already orders adds no edge; reusing bytes across independent
    stages serializes them (on the CSA decode layer, first fit alone made the critical path 31%
    longer than the manual-scope version's bigger plan)."""
    first = _first_fit(a, placed)
    others = [p for p in placed if not _overlap_in_time(a, p)]

    def free_of_new_orders(off: int) -> bool:
        return all(ordered(p, a) for p in others if p.offset < off + a.size and off < p.offset + p.size)

    if free_of_new_orders(first):
        return first
    top = max([first + a.size] + [p.offset + p.size for p in placed])
    busy = [(p.offset, p.offset + p.size) for p in placed if _overlap_in_time(a, p)]
    offsets = sorted({p.offset for p in others} | {p.offset + p.size for p in placed})
    fits = (off for off in offsets if off > first and off + a.size <= top
            and not any(lo < off + a.size and off < hi for lo, hi in busy))
    for _, off in zip(range(CANDIDATES), fits):
        if free_of_new_orders(off):
            return off
    return first


def _ordered_by_deps(allocs: list[Alloc], orders: "_Orders", users: dict[Value, list[Node]]):
    """A predicate on two allocations with disjoint lifetimes: does every task touching the
    earlier one precede every task touching the later one through dependency edges alone?"""
    mask = {id(a): sum(orders.bit[id(n)] for n in users.get(a.buffer, [])) for a in allocs}

    def ordered(p: Alloc, a: Alloc) -> bool:
        if p.loops or a.loops:
            return False  # a common loop's next iteration reuses again: edges either way
        earlier, later = (p, a) if p.end < a.start else (a, p)
        need = mask[id(earlier)]
        return all(orders.anc[id(y)] & need == need for y in users.get(later.buffer, []))
    return ordered


def _first_fit(a: Alloc, placed: list[Alloc]) -> int:
    busy = sorted((p.offset, p.offset + p.size) for p in placed if _overlap_in_time(a, p))
    offset = 0
    for lo, hi in busy:
        if offset + a.size <= lo:
            break
        offset = max(offset, hi)
    return offset


def _overlap_in_time(a: Alloc, b: Alloc) -> bool:
    return a.start <= b.end and b.start <= a.end


def _share_bytes(a: Alloc, b: Alloc) -> bool:
    return a.offset < b.offset + b.size and b.offset < a.offset + a.size


def _users(nodes: list[Node]) -> dict[Value, list[Node]]:
    """Buffer -> the tasks that touch it, in program order."""
    users: dict[Value, list[Node]] = {}
    for n in nodes:
        for b in dict.fromkeys(b for acc in n.accesses for b in acc.buffers):
            users.setdefault(b, []).append(n)
    return users


def _reuse_edges(plan: Plan, orders: "_Orders", users: dict[Value, list[Node]]) -> list[Edge]:
    """Edges so that every task touching an earlier occupant of some bytes precedes every task
    touching the later one; an edge the graph (`orders`, which takes the new edges) already
    implies is not added."""
    edges = []
    partners = _sharing_pairs(plan.allocs)
    for a in plan.allocs:
        for b in partners[id(a)]:
            if not a.end < b.start:
                continue
            earlier, later = users.get(a.buffer, []), users.get(b.buffer, [])
            for y in later:
                for x in sorted(earlier, key=lambda n: -n.order):  # latest first: fewer edges
                    if not orders.ordered(id(x), id(y)):
                        orders.add_edge(id(x), id(y))
                        edges.append(Edge(x, y, "REUSE", b.buffer))
            for loop in _common_loops(a, b):  # a of any later iteration follows this iteration's b
                edges += [Edge(y, x, "REUSE", a.buffer, loop) for x in earlier for y in later]
    return edges


class _Orders:
    """Which tasks every run orders before a task: the graph's ancestors of y through paths whose
    inner nodes are not inside a `pl.if` (when its arm is not taken, the node and the paths through
    it do not exist). All of them at once, as bit sets over the tasks, in one pass in topological
    order; a new edge x -> y is patched into every set it extends (exactly: the sets stay equal to
    a fresh computation's)."""

    def __init__(self, graph: nx.DiGraph, conditional: set[int]):
        self.graph, self.conditional = graph, conditional
        self.bit = {n: 1 << i for i, n in enumerate(graph.nodes)}
        self.anc: dict[int, int] = {}
        for y in nx.topological_sort(graph):
            mask = self.bit[y]
            for p in graph.predecessors(y):
                mask |= self._through(p)
            self.anc[y] = mask

    def _through(self, p: int) -> int:
        """What an edge from p brings: p, and p's ancestors unless p sits inside a `pl.if`."""
        return self.bit[p] if p in self.conditional else self.anc[p]

    def ordered(self, x: int, y: int) -> bool:
        return bool(self.anc[y] & self.bit[x])

    def add_edge(self, x: int, y: int) -> None:
        """New ancestors of z: what the edge brings, where y is z or an inner node of a path into
        z, i.e. y is z or an ancestor of z outside every `pl.if`."""
        self.graph.add_edge(x, y)
        gained = self._through(x)
        inner = 0 if y in self.conditional else self.bit[y]
        for z, anc in self.anc.items():
            if z == y or anc & inner:
                self.anc[z] = anc | gained


def _common_loops(a: Alloc, b: Alloc) -> list[Op]:
    """The loops around both creations: each one's next iteration reuses the bytes again."""
    out = []
    for x, y in zip(a.loops, b.loops):
        if x is not y:
            break
        out.append(x)
    return out


# --- the independent checker --------------------------------------------------------------------------
class PlanError(AssertionError):
    """The memory plan lets two buffers share bytes without ordering their users."""


def _reachable(graph: nx.DiGraph, x: int, conditional: set[int]) -> set[int]:
    """x and the nodes every run orders after it (forward, unlike the planner's reverse search:
    the checker shares no search code with what it checks)."""
    seen, todo = {x}, [x]
    while todo:
        for s in graph.successors(todo.pop()):
            if s not in seen:
                seen.add(s)
                if s not in conditional:
                    todo.append(s)
    return seen


def check_plan(plan: Plan, nodes: list[Node], edges: list[Edge]) -> None:
    """Any two buffers sharing bytes have all their users ordered by the graph: within an iteration
    by a path of edges, and across iterations of a common loop by a loop-carried edge."""
    intra = nx.DiGraph()
    intra.add_nodes_from(id(n) for n in nodes)
    intra.add_edges_from((id(e.src), id(e.dst)) for e in edges if e.carried_by is None)
    in_if = conditional_ops(plan.timeline.root)
    conditional = {id(n) for n in nodes if id(n.op) in in_if}
    reach = {n: _reachable(intra, n, conditional) for n in intra.nodes}
    carried = [e for e in edges if e.carried_by is not None]
    users = _users(nodes)
    partners = _sharing_pairs(plan.allocs)  # the pairs (the planner's sweep); their ordering is checked anew
    for a in plan.allocs:
        for b in partners[id(a)]:
            if _overlap_in_time(a, b):
                raise PlanError(f"{a.name} and {b.name} share bytes while both live")
            if b.end < a.start:
                continue  # checked as the pair (b, a)
            for x in users.get(a.buffer, []):
                for y in users.get(b.buffer, []):
                    if id(y) not in reach[id(x)]:
                        raise PlanError(f"{b.name} reuses the bytes of {a.name}, but {y.name} is not "
                                        f"ordered after {x.name}")
                    for loop in _common_loops(a, b):
                        if not any(e.carried_by is loop and id(e.src) in reach[id(y)] and id(x) in reach[id(e.dst)]
                                   for e in carried):
                            raise PlanError(f"{a.name} of a later iteration of the loop at {loop.loc} reuses the "
                                            f"bytes of {b.name}, but {x.name} is not ordered after {y.name} "
                                            f"across its iterations")
