"""Control-flow facts about the orchestration."""
from __future__ import annotations

from ..ir import ops
from ..ir.core import Region


def conditional_ops(region: Region, inside: bool = False) -> frozenset[int]:
    """id(op) of every op inside a `pl.if` arm: such a task or access may not run at all, so a
    dependency path through it orders nothing in the runs where it does not."""
    out: set[int] = set()
    for op in region.ops:
        if inside:
            out.add(id(op))
        for r in op.regions:
            out |= conditional_ops(r, inside or isinstance(op, ops.If))
    return frozenset(out)
