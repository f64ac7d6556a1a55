"""Which tensor values are GM memory, and which buffers each one may denote.

Memory is what a program can write in place: tensor parameters and `create_tensor` buffers, their
views (`slice`, `reshape`), their versions (results of `assemble`/`write`/`scatter`, kernel calls),
and the region arguments and results that carry them. Every other tensor value is a tile (a value).
`buffer_roots` maps each memory value to the set of buffers (parameters / create_tensor results)
it may denote: a loop argument may carry a different buffer each iteration.
"""
from __future__ import annotations

from ..ir import ops
from ..ir.core import Function, Op, Region, Value
from ..ir.types import TensorType

VIEWS = (ops.Slice, ops.Reshape)
WRITES = (ops.Assemble, ops.Write, ops.Scatter)


def _yields(region: Region) -> tuple[Value, ...]:
    term = region.ops[-1] if region.ops else None
    return tuple(getattr(term, "values", ()))


def buffer_roots(f: Function) -> dict[Value, frozenset[Value]]:
    """Memory value -> the buffers it may denote (iterated to a fixpoint over loops)."""
    return ops_roots(f.body.ops, [p.value for p in f.params if isinstance(p.value.type, TensorType)])


def ops_roots(top: list[Op], params: list[Value] = ()) -> dict[Value, frozenset[Value]]:
    """buffer_roots of some ops of a function, `params` being the buffers they receive: a buffer
    created among them reaches the same values as in the whole function."""
    roots: dict[Value, frozenset[Value]] = {p: frozenset({p}) for p in params}

    def join(v: Value, rs: frozenset[Value]) -> bool:
        old = roots.get(v, frozenset())
        new = old | rs
        if new != old:
            roots[v] = new
            return True
        return False

    def visit(region: Region) -> bool:
        changed = False
        for op in region.ops:
            changed |= visit_op(op)
        return changed

    def visit_op(op: Op) -> bool:
        changed = False
        if isinstance(op, ops.CreateTensor):
            changed |= join(op.results[0], frozenset(op.results))
        elif isinstance(op, VIEWS) and op.src in roots:
            changed |= join(op.results[0], roots[op.src])
        elif isinstance(op, WRITES) and op.dst in roots:
            changed |= join(op.results[0], roots[op.dst])
        elif isinstance(op, ops.Call):
            for i, r in zip(op.outs, op.results):
                if op.args[i] in roots:
                    changed |= join(r, roots[op.args[i]])
        elif isinstance(op, ops.ForLoop):
            body = op.regions[0]
            for arg, init in zip(body.args[1:], op.init):
                if init in roots:
                    changed |= join(arg, roots[init])
            changed |= visit(body)
            for arg, y, r in zip(body.args[1:], _yields(body), op.results):
                if y in roots:
                    changed |= join(arg, roots[y]) | join(r, roots[y])
        else:
            for region in op.regions:
                changed |= visit(region)
                for y, r in zip(_yields(region), op.results):
                    if y in roots:
                        changed |= join(r, roots[y])
        return changed

    changed = True
    while changed:
        changed = False
        for op in top:
            changed |= visit_op(op)
    return roots


def memory_values(f: Function) -> set[Value]:
    return set(buffer_roots(f))
