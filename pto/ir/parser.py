"""Parse the IR text form (grammar.lark) back into IR objects.

The parser is generic: it looks each op up by name in the registry and converts every field by the
kind its class declares, so a new op needs no parser change.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from . import ops  # noqa: F401  (registers the ops)
from .core import (BOOL, DTYPE, FLOAT, IDX, IDXS, INT, INTS, NUM, OP_REGISTRY, STR, V, VS, Function, Op,
                   Param, Program, Region, Value)
from .types import DTYPES_BY_NAME, Loc, ScalarType, TensorType, Type

_LARK = Lark(Path(__file__).with_name("grammar.lark").read_text(), parser="lalr", propagate_positions=True)


class IRParseError(Exception):
    pass


def _tok(t: Any) -> str:
    return str(t)


class _FunctionReader:
    def __init__(self) -> None:
        self.values: dict[str, Value] = {}

    def define(self, tok: Token, type: Type, owner: Op | None = None) -> Value:
        name = _tok(tok)[1:]
        if name in self.values:
            raise IRParseError(f"line {tok.line}: value %{name} defined twice")
        v = Value(type, hint=name, owner=owner)
        self.values[name] = v
        return v

    def ref(self, tok: Token) -> Value:
        name = _tok(tok)[1:]
        if name not in self.values:
            raise IRParseError(f"line {tok.line}: value %{name} used before it is defined")
        return self.values[name]

    # --- attributes -----------------------------------------------------------------------
    def plain(self, t: Tree) -> Any:
        kind = t.data
        if kind == "vref":
            return self.ref(t.children[0])
        if kind == "int":
            return int(t.children[0])
        if kind == "float":
            return float(t.children[0])
        if kind == "neg_inf":
            return float("-inf")
        if kind == "string":
            return json.loads(t.children[0])
        if kind == "list":
            return [self.plain(c) for c in t.children if c is not None]
        word = _tok(t.children[0])
        named = {"true": True, "false": False, "inf": float("inf"), "nan": float("nan")}
        if word in named:
            return named[word]
        if word in DTYPES_BY_NAME:
            return DTYPES_BY_NAME[word]
        raise IRParseError(f"unknown identifier '{word}'")

    def field(self, op_name: str, key: str, kind: str, raw: Any) -> Any:
        checks = {
            V: lambda x: isinstance(x, Value),
            VS: lambda x: isinstance(x, list) and all(isinstance(e, Value) for e in x),
            IDX: lambda x: isinstance(x, (int, Value)) and not isinstance(x, bool),
            IDXS: lambda x: isinstance(x, list) and all(isinstance(e, (int, Value)) for e in x),
            INTS: lambda x: isinstance(x, list) and all(type(e) is int for e in x),
            INT: lambda x: type(x) is int,
            FLOAT: lambda x: type(x) is float,
            NUM: lambda x: type(x) in (int, float),
            STR: lambda x: isinstance(x, str),
            BOOL: lambda x: isinstance(x, bool),
            DTYPE: lambda x: x in DTYPES_BY_NAME.values(),
        }
        if not checks[kind](raw):
            raise IRParseError(f"{op_name}: field '{key}' expects {kind}, got {raw!r}")
        return raw

    # --- structure ------------------------------------------------------------------------
    def type(self, t: Tree) -> Type:
        dtype = DTYPES_BY_NAME.get(_tok(t.children[0]))
        if dtype is None:
            raise IRParseError(f"unknown dtype '{t.children[0]}'")
        if t.data == "scalar_type":
            return ScalarType(dtype)
        return TensorType(tuple(int(c) for c in t.children[1:] if c is not None), dtype)

    def region(self, t: Tree) -> Region:
        region = Region()
        for child in t.children:
            if child is None:
                continue
            if child.data == "blockargs":
                region.args = [self.define(b.children[0], self.type(b.children[1]))
                               for b in child.children if b is not None]
            else:
                region.ops.append(self.op(child))
        return region

    def op(self, t: Tree) -> Op:
        results_t, opname, *rest = t.children
        cls = OP_REGISTRY.get(_tok(opname))
        if cls is None:
            raise IRParseError(f"line {opname.line}: unknown op {opname}")
        attrs: dict[str, Any] = {}
        types: list[Type] = []
        regions_t: list[Tree] = []
        loc = None
        for child in rest:
            if child is None:
                continue
            if child.data == "field":
                key = _tok(child.children[0])
                if key not in cls.fields:
                    raise IRParseError(f"line {opname.line}: {cls.name} has no field '{key}'")
                attrs[key] = self.field(cls.name, key, cls.fields[key], self.plain(child.children[1]))
            elif child.data in ("tensor_type", "scalar_type"):
                types.append(self.type(child))
            elif child.data == "loc":
                loc = Loc(json.loads(child.children[0]), int(child.children[1]))
            elif child.data == "region":
                regions_t.append(child)
        regions = [self.region(r) for r in regions_t]
        if len(regions) != cls.num_regions:
            raise IRParseError(f"line {opname.line}: {cls.name} takes {cls.num_regions} regions")
        op = cls(loc=loc, regions=regions, **attrs)
        names = [] if results_t is None else results_t.children
        if len(names) != len(types):
            raise IRParseError(f"line {opname.line}: {len(names)} results but {len(types)} types")
        op.results = [self.define(n, ty, owner=op) for n, ty in zip(names, types)]
        return op

    def function(self, t: Tree) -> Function:
        name, *rest = t.children
        params, result_types, fattrs, body = [], [], {}, Region()
        for child in rest:
            if child is None:
                continue
            if child.data == "param":
                value = self.define(child.children[0], self.type(child.children[1]))
                params.append(Param(value, _tok(child.children[2])))
            elif child.data in ("tensor_type", "scalar_type"):
                result_types.append(self.type(child))
            elif child.data == "fattr":
                fattrs[_tok(child.children[0])] = self.plain(child.children[1])
            elif child.data == "op":
                body.ops.append(self.op(child))
        return Function(_tok(name), params, body, result_types, fattrs)


def parse_program(text: str) -> Program:
    try:
        tree = _LARK.parse(text)
    except LarkError as e:
        raise IRParseError(str(e)) from None
    return Program([_FunctionReader().function(f) for f in tree.children])


def parse_function(text: str) -> Function:
    return parse_program(text).entry
