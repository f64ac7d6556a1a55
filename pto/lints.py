"""Lints: warnings (with the user's file:line) about kernels that work but waste or risk something.

`lint(function)` runs on the *traced* IR (the form `pto dump` prints, before any pass) and returns
the warnings sorted by location. The checks (DESIGN.md §4, "Lints"):

  early-declaration     a `pl.create_tensor`, or a `pl.slice`/`pl.reshape` of a parameter or buffer,
                        whose first use is inside a later region (`pl.for`, `pl.if`, `pl.at`,
                        `pl.spmd`, `pl.scope`, `pl.inline_call`) with other work in between, or
                        inside a `pl.scope` it is declared outside of though nothing else uses it
                        ("declare scratch at first use": a tight live range frees it earlier)
  out-read-before-write an Out parameter read before anything was written to it (undefined data)
  output-never-written  an Out or InOut parameter never written
  unused-tensor         a `pl.create_tensor` never read

Storage is followed through the IR's memory versions: a write's result, a view, a loop's block
argument and a region's result all stand for the buffer they derive from (its *root*).

Known limit: a view of a parameter or buffer that is only used inside a `pl.for` is re-derived by the
tracer inside the loop (at the line that uses it) and the original declaration is dropped as dead
code, so an early `pl.slice`/`pl.reshape` used only in loops leaves no trace to warn about.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .frontend.source import assigned_name
from .ir.core import Function, Op, Region, Value, is_tensor
from .ir.ops.control import Call, ForLoop, Return, Scope, Yield
from .ir.ops.indexed import Scatter
from .ir.ops.memory import Assemble, CreateTensor, Reshape, Slice, Write
from .ir.types import Loc

WRITES = (Assemble, Write, Scatter)  # ops whose result is the next version of their `dst`


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the name the lint API promises; this module never raises warnings
    """One lint finding: a stable `code`, a message, and the user's source location."""

    code: str
    message: str
    loc: Loc

    def __str__(self) -> str:
        return f"{self.loc}: warning: {self.message}"


def lint(function: Function) -> list[Warning]:
    """Every lint warning for a traced function, sorted by file and line."""
    root = _roots(function)
    found = (_early_declarations(function, root) + _out_read_before_write(function, root)
             + _outputs_never_written(function, root) + _unused_tensors(function, root))
    return sorted(found, key=lambda w: (w.loc.file, w.loc.line))


# --- storage ---------------------------------------------------------------------------------------
def _roots(function: Function) -> dict[Value, Value]:
    """value -> the storage it is a version or view of (values missing from the map are roots)."""
    root: dict[Value, Value] = {}
    r = lambda v: root.get(v, v)  # noqa: E731

    def visit(region: Region) -> None:
        for op in region.ops:
            if isinstance(op, (Slice, Reshape)):
                root[op.results[0]] = r(op.src)
            elif isinstance(op, WRITES):
                root[op.results[0]] = r(op.dst)
            elif isinstance(op, Call):
                root.update((res, r(op.args[i])) for res, i in zip(op.results, op.outs))
            if isinstance(op, ForLoop):
                root.update((a, r(v)) for a, v in zip(op.regions[0].args[1:], op.init))
            for reg in op.regions:
                visit(reg)
            if isinstance(op, ForLoop):
                root.update((res, r(v)) for res, v in zip(op.results, op.init))
            elif op.regions:
                root.update((res, r(v)) for res, v in zip(op.results, op.regions[0].ops[-1].values))

    visit(function.body)
    return root


def _reads(op: Op) -> list[Value]:
    """The operands `op` reads the contents of: not view sources, write destinations or values
    merely passed on (yields, loop inits); the view's or version's own users read them."""
    if isinstance(op, (Slice, Reshape, Yield)):
        return []
    if isinstance(op, ForLoop):
        return [v for v in (op.start, op.stop, op.step) if isinstance(v, Value)]
    if isinstance(op, WRITES):
        return op.operands()[1:]  # dst is the first operand of each
    return op.operands()


def _written(op: Op, root: dict[Value, Value]) -> list[Value]:
    """The storages `op` itself writes."""
    if isinstance(op, WRITES):
        return [root.get(op.dst, op.dst)]
    if isinstance(op, Call):
        return [root.get(op.args[i], op.args[i]) for i in op.outs]
    return []


def _name(v: Value) -> str:
    """The user's name for a value: its hint, else the variable its defining line assigns."""
    hint = v.hint if v.hint and not v.hint[0].isdigit() else None  # parsed IR names `%0` "0"
    named = hint or (assigned_name(v.owner.loc) if v.owner is not None else None)
    return named or (f"the {v.owner.name} result" if v.owner is not None else "a block argument")


def _at(loc: Loc, ref: Loc) -> str:
    """`line N` when `loc` is in the same file as `ref`, else `file:N`."""
    return f"line {loc.line}" if loc.file == ref.file else str(loc)


# --- early-declaration -----------------------------------------------------------------------------
def _early_declarations(function: Function, root: dict[Value, Value]) -> list[Warning]:
    """early-declaration: create_tensors and views of memory that could be declared later."""
    memory = {p.value for p in function.params if is_tensor(p.value)}
    memory |= {op.results[0] for op in function.walk() if isinstance(op, CreateTensor)}
    out: list[Warning] = []

    def visit(region: Region) -> None:
        for i, op in enumerate(region.ops):
            if isinstance(op, CreateTensor) or (isinstance(op, (Slice, Reshape))
                                                and root.get(op.src, op.src) in memory):
                w = _check_declaration(region.ops, i, root)
                out.extend([w] if w else [])
            for reg in op.regions:
                visit(reg)

    visit(function.body)
    return out


def _check_declaration(ops: list[Op], i: int, root: dict[Value, Value]) -> Warning | None:
    """A warning if ops[i] could be declared later: just before, or inside, its first user region."""
    decl = ops[i]
    d = decl.results[0]
    if isinstance(decl, CreateTensor):
        mine = lambda v: root.get(v, v) is d  # noqa: E731 - any version or view of the buffer
    else:
        mine = lambda v: v is d  # noqa: E731 - the view itself
    j = next((j for j in range(i + 1, len(ops)) if _first_use(ops[j], mine)), None)
    if j is None or not ops[j].regions:
        return None
    region_op = ops[j]
    late = any(o.regions or _is_work(o) for o in ops[i + 1:j])
    scoped = isinstance(region_op, Scope) and not any(_first_use(o, mine) for o in ops[j + 1:])
    if not (late or scoped):
        return None
    use, where = _first_use(region_op, mine).loc, _at(region_op.loc, decl.loc)
    fix = "inside that pl.scope" if scoped else f"immediately before that {region_op.name}"
    return Warning("early-declaration",
                   f"'{_name(d)}' ({decl.name}) is declared before it is needed: first used at "
                   f"{_at(use, decl.loc)}, inside the {region_op.name} at {where}; declare it {fix} "
                   f"(declare scratch at first use)", decl.loc)


def _first_use(op: Op, mine: Callable[[Value], bool]) -> Op | None:
    """The first op, in program order within `op` (itself included), with an operand `mine` accepts."""
    if any(mine(v) for v in op.operands()):
        return op
    for reg in op.regions:
        for inner in reg.ops:
            hit = _first_use(inner, mine)
            if hit is not None:
                return hit
    return None


def _is_work(op: Op) -> bool:
    """A tile op or task (not a declaration, not scalar arithmetic): something that runs on a core."""
    if isinstance(op, (CreateTensor, Slice, Reshape)):
        return False
    return isinstance(op, Call) or any(is_tensor(v) for v in op.results)


# --- parameters and buffers ----------------------------------------------------------------------
def _out_read_before_write(function: Function, root: dict[Value, Value]) -> list[Warning]:
    """out-read-before-write: the first read of each Out parameter that precedes all its writes."""
    pending = {p.value: p for p in function.params if p.direction == "out"}
    out: list[Warning] = []
    for op in function.walk():
        for v in _reads(op):
            p = pending.pop(root.get(v, v), None)
            if p is not None:
                out.append(Warning("out-read-before-write",
                                   f"the output parameter '{p.name}' is read before anything is written "
                                   f"to it (its contents are undefined until then)", op.loc))
        for s in _written(op, root):
            pending.pop(s, None)
    return out


def _outputs_never_written(function: Function, root: dict[Value, Value]) -> list[Warning]:
    """output-never-written: Out/InOut parameters no op writes (reported at the function's line)."""
    written = {s for op in function.walk() for s in _written(op, root)}
    ret = function.body.ops[-1]
    loc = ret.loc if isinstance(ret, Return) else function.body.ops[0].loc
    return [Warning("output-never-written", f"the {p.direction} parameter '{p.name}' is never written", loc)
            for p in function.params if p.direction in ("out", "inout") and p.value not in written]


def _unused_tensors(function: Function, root: dict[Value, Value]) -> list[Warning]:
    """unused-tensor: create_tensors nothing reads (never touched, or only written)."""
    read = {root.get(v, v) for op in function.walk() for v in _reads(op)}
    written = {s for op in function.walk() for s in _written(op, root)}
    out: list[Warning] = []
    for op in function.walk():
        b = op.results[0] if isinstance(op, CreateTensor) else None
        if b is not None and b not in read:
            what = "written but never read" if b in written else "never used"
            out.append(Warning("unused-tensor", f"the tensor '{_name(b)}' is {what}", op.loc))
    return out
