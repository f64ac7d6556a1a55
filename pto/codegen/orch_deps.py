"""The explicit dependencies of the emitted orchestration: task-id variables and wait lists.

Requires: facts["access"] (nodes: tasks and orchestration-side scalar accesses), the edges of
facts["deps"] plus facts["memplan"].reuse_edges, and a `fresh(hint) -> str` that makes unique C++
names.
Produces: a `DepPlan` telling the emitter, per `pl.call` op, the task-id variable its submit
stores (only for tasks some edge starts at), its join variable if it has one, and the variables
it waits for; per loop, the variables to snapshot at the top of its body; per orchestration-side
scalar access, notes naming the tasks it waits for.

Edge src -> dst, both tasks: dst's submit lists src's task id. There is one task-id variable per
task site, holding the id of its latest submit (PTO2TaskId::invalid() before the first; the
emitted code skips invalid ids, which are fatal in the reference runtime).
  * an edge within one iteration: src ran earlier in program order, the variable is its id;
  * a loop-carried edge (src in an earlier iteration of loop L): when src comes after dst in the
    body (or is dst), the variable still holds the previous iteration's id at dst's submit; when
    src comes before dst, the body of L starts with a snapshot `tid_src_prev = tid_src` and dst
    waits for the snapshot.
One id stands for every earlier instance of src only when those instances are ordered among
themselves (src has a loop-carried edge to itself in each loop concerned), or, for a carried
edge, when dst's instances are (each waited for the src instance before it). When dst needs the
instances of several iterations of a loop whose src instances are unordered (after a
`pl.parallel` loop, or a carried edge over more than one iteration), src also gets a join
variable: after each submit, `join_src = pto_join(join_src, tid_src)` (a kernel-less task that
waits for both), and dst waits for the join instead.
Edges from an orchestration-side access are satisfied by program order (the access finished
before the next submit); edges into one are waited for by get_tensor_data / set_tensor_data.
An edge between two tasks that run in the same iteration of the same loops, neither inside a
`pl.if`, is left out when a path of such edges already orders them (the wait lists of a chain
of writers to one buffer stay short instead of growing with every writer).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import networkx as nx

from ..ir import ops
from ..ir.core import Op
from ..passes.access import Node
from ..passes.deps import Edge


@dataclass
class Wait:
    var: str   # the PTO2TaskId variable waited for
    note: str  # why: "RAW sparse_kv, WAW o_packed"


@dataclass
class DepPlan:
    tid: dict[int, str] = field(default_factory=dict)              # id(call op) -> its task-id variable
    join: dict[int, str] = field(default_factory=dict)             # id(call op) -> its join variable
    waits: dict[int, list[Wait]] = field(default_factory=dict)     # id(call op) -> what it waits for
    notes: dict[int, list[str]] = field(default_factory=dict)      # id(scalar access) -> comment lines
    snapshots: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # id(loop) -> (snapshot, var)

    def wait(self, op: Op) -> list[Wait]:
        return self.waits.get(id(op), [])


def _is_task(n: Node) -> bool:
    return isinstance(n.op, ops.Call)


def _why(e: Edge) -> str:
    text = f"{e.kind} {e.buffer.hint or '?'}"
    return text + " (previous iteration)" if e.carried_by is not None else text


def plan_dependencies(nodes: list[Node], edges: list[Edge], fresh: Callable[[str], str],
                      conditional: frozenset[int] = frozenset()) -> DepPlan:
    """Task-id variables, snapshots and wait lists for `edges` between `nodes`; `conditional`
    holds id(op) of the calls inside a `pl.if` (they may skip iterations)."""
    plan = DepPlan()
    waits: dict[int, dict[str, list[str]]] = {}
    chained = {(id(e.src.op), id(e.carried_by)) for e in edges if e.src is e.dst and e.carried_by is not None}
    for e in _reduced(edges, conditional):
        src, dst = e.src, e.dst
        if not _is_task(src):
            continue  # the access finished before anything later in program order started
        if not _is_task(dst):
            _note(plan, dst.op, f"after {src.name}: {_why(e)}")
            continue
        var = _variable(plan, src, fresh)
        if not all(_covered(e, loop, chained, conditional) for loop in _spanned(e)):
            var = _join(plan, src, var, fresh)
        if e.carried_by is not None and src.order < dst.order:
            var = _snapshot(plan, e.carried_by, var, fresh)
        waits.setdefault(id(dst.op), {}).setdefault(var, [])
        why = _why(e)
        if why not in waits[id(dst.op)][var]:
            waits[id(dst.op)][var].append(why)
    for key, by_var in waits.items():
        plan.waits[key] = [Wait(var, ", ".join(sorted(why))) for var, why in by_var.items()]
    return plan


def _note(plan: DepPlan, op: Op, text: str) -> None:
    notes = plan.notes.setdefault(id(op), [])
    if text not in notes:
        notes.append(text)


def _reduced(edges: list[Edge], conditional: frozenset[int]) -> list[Edge]:
    """`edges` without the straight-line task edges that a path of others implies."""
    def straight(e: Edge) -> bool:
        return (e.carried_by is None and _is_task(e.src) and _is_task(e.dst) and e.src.loops == e.dst.loops
                and id(e.src.op) not in conditional and id(e.dst.op) not in conditional)

    graph = nx.DiGraph((id(e.src.op), id(e.dst.op)) for e in edges if straight(e))
    keep = set(nx.transitive_reduction(graph).edges) if graph else set()
    return [e for e in edges if not straight(e) or (id(e.src.op), id(e.dst.op)) in keep]


def _variable(plan: DepPlan, src: Node, fresh: Callable[[str], str]) -> str:
    if id(src.op) not in plan.tid:
        plan.tid[id(src.op)] = fresh(f"tid_{src.name}")
    return plan.tid[id(src.op)]


def _spanned(e: Edge) -> list[Op]:
    """The loops around src over whose iterations dst needs every instance of src."""
    src = e.src.loops
    if e.carried_by is None:
        return [loop for loop in src if loop not in e.dst.loops]
    return list(src[src.index(e.carried_by):])


def _covered(e: Edge, loop: Op, chained: set, conditional: frozenset[int]) -> bool:
    """Whether waiting for the latest instance of src orders dst after every instance of src over
    the iterations of `loop`: src's instances are chained, or (for the carrying loop) dst's are
    and dst runs in every iteration, each instance having waited for the src instance before it."""
    if (id(e.src.op), id(loop)) in chained:
        return True
    dst = id(e.dst.op)
    return loop is e.carried_by and (dst, id(loop)) in chained and dst not in conditional


def _join(plan: DepPlan, src: Node, var: str, fresh: Callable[[str], str]) -> str:
    if id(src.op) not in plan.join:
        plan.join[id(src.op)] = fresh(var.replace("tid_", "join_", 1))
    return plan.join[id(src.op)]


def _snapshot(plan: DepPlan, loop: Op, var: str, fresh: Callable[[str], str]) -> str:
    taken = plan.snapshots.setdefault(id(loop), [])
    for snap, v in taken:
        if v == var:
            return snap
    snap = fresh(f"{var}_prev")
    taken.append((snap, var))
    return snap
