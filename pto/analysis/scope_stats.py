"""Scope statistics from the memory plan (`--scope-stats`).

One row per lifetime scope: the function frame (depth 0) and every `pl.scope`, with
  allocated  bytes of the buffers created inside it (nested scopes included, one instance each),
  peak       the most bytes live at any point inside it (all planned buffers),
  held       bytes still live when it exits (buffers whose lifetime runs past its end).
The simulator measures the same figures at run time (same schema), and they must agree.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..ir import ops
from ..ir.core import Function


@dataclass(frozen=True)
class ScopeStat:
    site: str  # file:line of the scope (the function's line for the frame)
    depth: int
    allocated: int
    peak: int
    held: int


def scope_stats(entry: Function, plan) -> list[ScopeStat]:
    tl = plan.timeline
    frame_site = str(entry.body.ops[-1].loc) if entry.body.ops else entry.name
    rows = [_row(frame_site, 0, 0, tl.last, plan, lambda a: True)]
    _scopes(entry.body, 1, plan, rows)
    return rows


def _scopes(region, depth: int, plan, rows: list[ScopeStat]) -> None:
    tl = plan.timeline
    for op in region.ops:
        if isinstance(op, ops.Scope):
            start, end = tl.time[op], tl.end[op]
            rows.append(_row(str(op.loc), depth, start, end, plan,
                             lambda a, s=start, e=end: s <= plan.timeline.time[a.op] <= e))
        for r in op.regions:
            _scopes(r, depth + (isinstance(op, ops.Scope)), plan, rows)


def _row(site: str, depth: int, start: int, end: int, plan, inside) -> ScopeStat:
    allocated = sum(a.size for a in plan.allocs if inside(a))
    peak = max((plan.live_bytes(t) for t in range(start, end + 1)), default=0)
    held = sum(a.size for a in plan.allocs if a.start <= end < a.end)
    return ScopeStat(site, depth, allocated, peak, held)


def format_table(rows: list[ScopeStat]) -> str:
    lines = [f"{'scope':<44} {'depth':>5} {'allocated':>12} {'peak':>12} {'held at exit':>13}"]
    for r in rows:
        name = ("  " * r.depth) + (r.site if r.depth else f"{r.site} (function)")
        lines.append(f"{name:<44} {r.depth:>5} {r.allocated:>12,} {r.peak:>12,} {r.held:>13,}")
    return "\n".join(lines)


def to_json_lines(rows: list[ScopeStat]) -> str:
    return "".join(json.dumps(asdict(r)) + "\n" for r in rows)
