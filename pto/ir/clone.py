"""A deep copy of a function: new ops and values, the same structure (the passes change IR in
place, the traced function must stay as it was)."""
from __future__ import annotations

from typing import Any

from .core import Function, Op, Param, Region, Value


class _Cloner:
    def __init__(self) -> None:
        self.values: dict[Value, Value] = {}

    def value(self, v: Value) -> Value:
        new = Value(v.type, v.hint)
        self.values[v] = new
        return new

    def field(self, x: Any) -> Any:
        if isinstance(x, Value):
            return self.values[x]
        if isinstance(x, tuple):
            return tuple(self.field(e) for e in x)
        return x

    def region(self, r: Region) -> Region:
        args = [self.value(a) for a in r.args]
        return Region(args, [self.op(op) for op in r.ops])

    def op(self, op: Op) -> Op:
        regions = [self.region(r) for r in op.regions]
        fields = {key: self.field(getattr(op, key)) for key in op.fields}
        new = type(op)(loc=op.loc, regions=regions, **fields)
        new.results = [self.value(r) for r in op.results]
        for r in new.results:
            r.owner = new
        return new


def clone_function(f: Function) -> Function:
    c = _Cloner()
    params = [Param(c.value(p.value), p.direction) for p in f.params]
    return Function(f.name, params, c.region(f.body), list(f.result_types), dict(f.attrs))
