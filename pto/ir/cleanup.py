"""Dead-code elimination of side-effect-free ops, run once on a fresh trace.

Tracing emits some values nobody reads (the upper bound of `t[i : i + 8]` is computed by Python
before the slice sees it). Removing them keeps dumps readable. Writes, buffer creation and region
ops are effects and always stay.
"""
from __future__ import annotations

from .core import Function, Op, Region, Value
from .ops import compute, memory

PURE = (compute.Binary, compute.Unary, compute.Where, compute.Cast, compute.Reduce, compute.Expand,
        compute.Matmul, compute.MatmulAcc, memory.Const, memory.Slice, memory.Reshape, memory.Load,
        memory.Read, memory.Full, memory.Arange)


def _uses(region: Region, counts: dict[Value, int]) -> None:
    for op in region.ops:
        for v in op.operands():
            counts[v] = counts.get(v, 0) + 1
        for r in op.regions:
            _uses(r, counts)


def _sweep(region: Region, counts: dict[Value, int]) -> bool:
    changed = False
    kept: list[Op] = []
    for op in reversed(region.ops):
        for r in op.regions:
            changed |= _sweep(r, counts)
        if isinstance(op, PURE) and all(counts.get(v, 0) == 0 for v in op.results):
            for v in op.operands():
                counts[v] -= 1
            changed = True
            continue
        kept.append(op)
    region.ops = kept[::-1]
    return changed


def eliminate_dead_code(f: Function) -> None:
    counts: dict[Value, int] = {}
    _uses(f.body, counts)
    _sweep(f.body, counts)
