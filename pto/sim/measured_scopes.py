"""Scope statistics measured on an a2a3sim run (DESIGN.md §5: the compile-time figures must agree).

The compile-time rows (pto/analysis/scope_stats.py) come from the memory plan's lifetimes: a
buffer is live from its creation to the last op that uses it (a use inside a loop that does not
also create it keeps it live for the whole loop; with manual scopes, to the end of its scope).
Here the ends come from what the run did instead: the last task that actually touched the
buffer's bytes (the sanitizer's access log, each task mapped to the call site that submitted it)
and the last orchestration element access that did. The runtime's own figure is checked too: the
workspace it allocated must be the plan's size.

So the two agree exactly when every use the planner counted really happened; a buffer the plan
keeps alive for a use that never touches it shows up as a difference, as would an access after
the planned end (which the sanitizer also reports as a reuse conflict).
"""
from __future__ import annotations

import dataclasses

from ..analysis.scope_stats import ScopeStat, scope_stats
from ..ir import ops
from ..passes.memplan import use_span
from .native import A2a3SimError


def measured_scope_stats(sim) -> list[ScopeStat]:
    """The scope rows of the simulation's last run (which must have run with the sanitizer)."""
    plan = sim.compilation.facts["memplan"]
    if sim.last_accesses is None:
        raise A2a3SimError("measured scope statistics need a run with the sanitizer on (its access log)")
    ws = sim.workspace()
    if plan.workspace and ws is None:
        raise A2a3SimError(f"the runtime allocated no workspace of the planned {plan.workspace} bytes")
    last_use = _last_uses(sim, plan, ws.buffer_addr) if ws is not None else {}
    measured = []
    for a in plan.allocs:
        end = last_use.get(a.buffer, a.start)
        if sim.entry.attrs.get("auto_scope") is False:  # released at its scope's end, used or not
            scope = plan.timeline.scope[a.op]
            end = max(end, plan.timeline.end[scope] if scope is not None else plan.timeline.last)
        measured.append(dataclasses.replace(a, end=end))
    return scope_stats(sim.entry, dataclasses.replace(plan, allocs=measured))


def _last_uses(sim, plan, ws: int) -> dict:
    """Planned buffer -> the latest end of a use that touched its bytes in the run."""
    tl, entry = plan.timeline, sim.entry
    allocs = {a.buffer: a for a in plan.allocs}
    touched: dict = {}

    def note(op, addr: int) -> None:
        for b in sim.buffers_passed(op) & allocs.keys():
            a = allocs[b]
            if a.offset <= addr - ws < a.offset + a.size:
                touched[b] = max(touched.get(b, a.start), use_span(op, a.op, tl)[1])

    for access in sim.last_accesses:
        info = sim.log.tasks.get(access.task)
        if info is not None and info.kernel in sim.calls:
            note(sim.calls[info.kernel], access.addr)
    scalar_ops = {"read": [op for op in entry.walk() if isinstance(op, ops.Read)],
                  "write": [op for op in entry.walk() if isinstance(op, ops.Write)]}
    for e in sim.log.events:
        for op in scalar_ops.get(e.kind, ()):  # every such op on the buffer: the event does not say which
            note(op, e.addr)
    return touched
