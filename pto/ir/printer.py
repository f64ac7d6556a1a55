"""The IR text form. Every op prints generically from its field declaration:

    %r = pl.op(field=%v, other=[0, %i], dtype=bf16) : fp32[16, 64] loc("file.py":12) { region } ...

`pto.ir.parser` reads this text back into an equal IR.
"""
from __future__ import annotations

import json
import math
from typing import Any

from .core import Function, Op, Program, Region, Value
from .types import DType, Type


def type_str(t: Type) -> str:
    return str(t)


class Namer:
    """Gives each value a unique printable name, preferring its hint."""

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}
        self.used: set[str] = set()
        self.counter = 0

    def __call__(self, v: Value) -> str:
        name = self.names.get(v)
        if name is None:
            name = v.hint if v.hint and v.hint not in self.used else None
            if name is None and v.hint:
                name = self._fresh(v.hint + "_")
            if name is None:
                name = self._fresh("")
            self.names[v] = name
            self.used.add(name)
        return "%" + name

    def _fresh(self, prefix: str) -> str:
        while True:
            name = f"{prefix}{self.counter}"
            self.counter += 1
            if name not in self.used:
                return name


def attr_str(x: Any, name: Namer) -> str:
    if isinstance(x, Value):
        return name(x)
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, DType):
        return x.name
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, (tuple, list)):
        return "[" + ", ".join(attr_str(e, name) for e in x) + "]"
    return str(x)


class Printer:
    def __init__(self, indent: str = "  "):
        self.indent = indent
        self.lines: list[str] = []
        self.name = Namer()

    def function(self, f: Function) -> None:
        params = ", ".join(f"{self.name(p.value)}: {type_str(p.value.type)} {p.direction}" for p in f.params)
        results = ", ".join(type_str(t) for t in f.result_types)
        attrs = "".join(f" {k}={attr_str(v, self.name)}" for k, v in sorted(f.attrs.items()))
        self.lines.append(f"func @{f.name}({params}) -> ({results}){attrs} {{")
        self.region_ops(f.body, 1)
        self.lines.append("}")

    def region_ops(self, region: Region, depth: int) -> None:
        pad = self.indent * depth
        if region.args:
            args = ", ".join(f"{self.name(a)}: {type_str(a.type)}" for a in region.args)
            self.lines.append(f"{pad}^({args}):")
        for op in region.ops:
            self.op(op, depth)

    def _name_inside(self, op: Op) -> None:
        """Name values defined inside regions before the op's own results, so a version made
        inside a loop keeps its hint (`out.1`) and the loop's result gets the suffixed name."""
        for region in op.regions:
            for a in region.args:
                self.name(a)
            for inner in region.ops:
                self._name_inside(inner)
                for r in inner.results:
                    self.name(r)

    def op(self, op: Op, depth: int) -> None:
        pad = self.indent * depth
        self._name_inside(op)
        head = ""
        if op.results:
            head = ", ".join(self.name(r) for r in op.results) + " = "
        fields = ", ".join(f"{k}={attr_str(getattr(op, k), self.name)}"
                           for k in op.fields if getattr(op, k) is not None)
        types = ""
        if op.results:
            types = " : " + ", ".join(type_str(r.type) for r in op.results)
        loc = f" loc({json.dumps(op.loc.file)}:{op.loc.line})"
        if not op.regions:
            self.lines.append(f"{pad}{head}{op.name}({fields}){types}{loc}")
            return
        self.lines.append(f"{pad}{head}{op.name}({fields}){types}{loc} {{")
        for i, region in enumerate(op.regions):
            if i:
                self.lines.append(f"{pad}}} {{")
            self.region_ops(region, depth + 1)
        self.lines.append(f"{pad}}}")


def print_function(f: Function) -> str:
    p = Printer()
    p.function(f)
    return "\n".join(p.lines) + "\n"


def print_program(prog: Program) -> str:
    return "\n".join(print_function(f) for f in prog.functions)

