"""Clean-ups run once on a fresh trace: shared views, then dead-code elimination.

Inside a loop the tracer re-derives a view from the storage's loop version; when the loop leaves
that storage alone the version is the outer one again, and the view duplicates one made before the
loop. `share_views` lets the loop use the outer view (so dumps and lints see where a view was
declared). Tracing also emits values nobody reads (the upper bound of `t[i : i + 8]` is computed
by Python before the slice sees it); `eliminate_dead_code` drops them. Writes, buffer creation and
region ops are effects and always stay.
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


def _view_key(op: Op) -> tuple | None:
    if isinstance(op, memory.Slice):
        return (memory.Slice, op.src, op.offsets, op.sizes)
    if isinstance(op, memory.Reshape):
        return (memory.Reshape, op.src, op.shape)
    return None


def _share(region: Region, visible: list[dict], same: dict[Value, Value]) -> None:
    table: dict = {}
    visible.append(table)
    kept = []
    for op in region.ops:
        op.replace_operands(same)
        key = _view_key(op)
        if key is not None:
            earlier = next((t[key] for t in reversed(visible) if key in t), None)
            if earlier is not None:
                same[op.results[0]] = earlier
                continue
            table[key] = op.results[0]
        for r in op.regions:
            _share(r, visible, same)
        kept.append(op)
    region.ops = kept
    visible.pop()


def share_views(f: Function) -> None:
    """Replace a view identical to one made earlier in an enclosing region by that one."""
    _share(f.body, [], {})


def eliminate_dead_code(f: Function) -> None:
    counts: dict[Value, int] = {}
    _uses(f.body, counts)
    _sweep(f.body, counts)
