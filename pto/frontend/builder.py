"""The trace state: the stack of open regions and the current version of every storage.

A *storage* is one piece of memory the program can write: a parameter, a `create_tensor`, or a
tile produced by an op. Python handles (`Tensor`, `Scalar`) name a storage plus a view path; reading
a handle re-derives its view from the storage's *current* version, so a read after a write (through
any view, reshape or inline helper) always depends on that write. That is DESIGN.md §3 made
mechanical: there is no way to read a stale version.

Regions (`Frame`s) track versions crossing their boundary:
  * a loop gives every outer storage it touches a placeholder block argument; storages written in
    the body become loop-carried, the others are substituted back;
  * other regions (pl.at, inline calls, branches, scopes, spmd) yield the final version of each
    outer storage they wrote;
  * a storage created inside a closed region escapes on first use after it if the region is
    transparent (pl.at, inline call); after a loop, scope or spmd it is an error at the use.
"""
from __future__ import annotations

from typing import Any

from ..errors import PlTypeError, PlValueError
from ..ir.core import IRTypeError, Op, Region, Value
from ..ir.ops.control import Yield
from ..ir.types import Loc
from .source import user_loc

TRANSPARENT = ("at", "inline", "func")


class Storage:
    __slots__ = ("current", "frame", "kind", "loc", "hint", "versions")

    def __init__(self, current: Value, frame: "Frame", kind: str, loc: Loc, hint: str | None = None):
        self.current = current
        self.frame = frame
        self.kind = kind  # "in", "out", "inout", "scratch", "tile", "scalar"
        self.loc = loc
        self.hint = hint
        self.versions = 0

    def next_version_hint(self) -> str | None:
        """`out.1`, `out.2`, ...: printing names for successive versions of a named storage."""
        self.versions += 1
        return f"{self.hint}.{self.versions}" if self.hint else None

    @property
    def is_memory(self) -> bool:
        return self.kind in ("in", "out", "inout", "scratch")

    def describe(self) -> str:
        return f"the tensor {self.current.type} created at {self.loc}"


class Frame:
    def __init__(self, kind: str, op: Op | None, region: Region, parent: "Frame | None", loc: Loc):
        self.kind = kind  # "func", "loop", "at", "spmd", "scope", "inline", "arm", "discard"
        self.op = op
        self.region = region
        self.parent = parent
        self.loc = loc
        self.closed = False
        self.depth = 0 if parent is None else parent.depth + 1
        self.placeholders: dict[Storage, tuple[Value, Value]] = {}  # loops: storage -> (outer, arg)
        self.entries: dict[Storage, Value] = {}  # other regions: storage -> version at entry


class Builder:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.reached: dict = {}  # functions the trace went through (cache validation)
        self.inline_stack: list = []  # inline helpers being expanded (recursion check)

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    # --- ops ------------------------------------------------------------------------------
    def emit(self, cls: type[Op], *, loc: Loc | None = None, hints: tuple = (), **fields: Any) -> list[Value]:
        loc = loc or user_loc()
        op = cls(loc=loc, **fields)
        try:
            types = op.infer()
        except IRTypeError as e:
            raise PlTypeError(str(e), loc) from None
        op.results = [Value(t, hints[i] if i < len(hints) else None, owner=op) for i, t in enumerate(types)]
        self.frame.region.ops.append(op)
        return op.results

    def new_storage(self, value: Value, kind: str, loc: Loc | None = None) -> Storage:
        return Storage(value, self.frame, kind, loc or user_loc(), value.hint)

    # --- versions -------------------------------------------------------------------------
    def current(self, s: Storage) -> Value:
        """The version of `s` visible here, threading it through every region opened since."""
        if s.frame.closed:
            self._escape(s)
        for f in self.frames[s.frame.depth + 1:]:
            if f.kind == "loop":
                if s not in f.placeholders:
                    arg = Value(s.current.type, s.current.hint)
                    f.placeholders[s] = (s.current, arg)
                    s.current = arg
            elif s not in f.entries:
                f.entries[s] = s.current
        return s.current

    def set_current(self, s: Storage, v: Value) -> None:
        self.current(s)
        s.current = v

    def _escape(self, s: Storage) -> None:
        while s.frame.closed:
            f = s.frame
            if f.kind not in TRANSPARENT:
                raise PlValueError(_escape_message(s, f), user_loc())
            result = Value(s.current.type, s.current.hint, owner=f.op)
            term = f.region.ops[-1]
            term.values = term.values + (s.current,)
            f.op.results.append(result)
            s.current = result
            s.frame = f.parent

    # --- regions --------------------------------------------------------------------------
    def push(self, kind: str, op: Op | None, region: Region, loc: Loc | None = None) -> Frame:
        parent = self.frames[-1] if self.frames else None
        if op is not None and kind != "arm":
            parent.region.ops.append(op)
        f = Frame(kind, op, region, parent, loc or user_loc())
        self.frames.append(f)
        return f

    def pop(self, f: Frame) -> None:
        assert self.frames[-1] is f, "unbalanced region"
        self.frames.pop()
        f.closed = True

    def close_transparent(self, f: Frame, extra_yields: tuple[Value, ...] = ()) -> None:
        """End a non-loop region: yield each outer storage it wrote, then `extra_yields`."""
        written = [(s, e) for s, e in f.entries.items() if s.current is not e]
        values = tuple(s.current for s, _ in written) + extra_yields
        f.region.ops.append(Yield(loc=f.loc, values=values))
        self.pop(f)
        hints = [s.next_version_hint() for s, _ in written] + [v.hint for v in extra_yields]
        results = [Value(v.type, h, owner=f.op) for v, h in zip(values, hints)]
        f.op.results = results
        for (s, _), r in zip(written, results):
            self.set_current(s, r)

    def discard_loop(self, f: Frame) -> None:
        """Undo a discovery trace of a loop body: restore every storage it touched."""
        self.pop(f)
        for s, (outer, _) in f.placeholders.items():
            s.current = outer


def region_name(f: Frame) -> str:
    return {"loop": "loop", "scope": "pl.scope", "spmd": "pl.spmd region", "arm": "branch of an if",
            "discard": "loop", "at": "pl.at region", "inline": "inline call", "func": "function"}[f.kind]


def _escape_message(s: Storage, f: Frame) -> str:
    what = {"loop": "loop", "scope": "pl.scope", "spmd": "pl.spmd region", "arm": "branch of an if",
            "discard": "loop"}[f.kind]
    fix = {"loop": "assign it before the loop to carry it through the iterations",
           "scope": "create it before the scope to use it after the scope",
           "spmd": "write results into a tensor created before the pl.spmd",
           "arm": "assign it in both branches",
           "discard": "assign it before the loop"}[f.kind]
    released = " (the scope released it when it closed)" if f.kind == "scope" else ""
    return (f"{s.describe()} belongs to the {what} at {f.loc} and is used after it{released}; {fix}")


_BUILDERS: list[Builder] = []


def active() -> Builder:
    if not _BUILDERS:
        raise RuntimeError("no trace is active")
    return _BUILDERS[-1]


def is_tracing() -> bool:
    return bool(_BUILDERS)


class tracing:
    """Context manager that makes `b` the active builder."""

    def __init__(self, b: Builder):
        self.b = b

    def __enter__(self) -> Builder:
        _BUILDERS.append(self.b)
        return self.b

    def __exit__(self, *exc: Any) -> None:
        _BUILDERS.pop()
