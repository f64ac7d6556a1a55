"""Tracing of control flow and placement: loops, `if` on traced scalars, pl.at, pl.spmd, pl.scope.

Loops. A Python `for` over `pl.range` runs its body once per *trace*. Loop-carried variables are
the names the body assigns (read from the source file) that hold traced values before the loop and
hold a different value after one trace of the body. Finding them needs one discovery trace, which
is thrown away; the real trace then binds those names to the loop's block arguments. In-place
writes to outer tensors are carried by the storage machinery in builder.py, so
`acc[i:i+8, :] = x` inside a loop needs nothing from the user.

Branches. `if` statements are rewritten (rewrite.py) into two arm functions and a call to
`branch`, which runs the chosen arm for a Python condition, and traces both arms into a `pl.if`
for a traced one.
"""
from __future__ import annotations

from typing import Any, Callable

from ..errors import PlSyntaxError, PlTypeError, PlValueError
from ..ir import ops
from ..ir.core import Op, Region, Value
from ..ir.ops.control import Yield
from ..ir.types import BOOL, INDEX, Loc, ScalarType
from . import builder as B
from .handles import Scalar, Tensor, Traced, births, index_scalar, wrap
from .source import display_path, loop_assigned_names, set_local, user_frame, user_loc


def _require_tracing(what: str) -> B.Builder:
    if not B.is_tracing():
        raise PlSyntaxError(f"{what} can only be used inside a @pl.jit function", user_loc())
    return B.active()


def _idx(x: Any, what: str) -> int | Value:
    if isinstance(x, bool) or not isinstance(x, (int, Scalar)):
        raise PlTypeError(f"{what} must be an int or a traced integer, got {type(x).__name__}", user_loc())
    return x if isinstance(x, int) else x.value


def _rebound(before: Traced, after: Any) -> bool:
    if after is before or after is None:
        return False
    return not (isinstance(after, Traced) and after._storage is before._storage and after._path == before._path)


def _snapshot_value(h: Traced) -> Value:
    """The value of `h` now, copied out of memory when `h` views a tensor in GM."""
    v = h.value
    if h._storage.is_memory:
        v = B.active().emit(ops.Load, src=v)[0]
    return v


class Loop:
    """`pl.range(start, stop, step)`, `pl.parallel(...)`, `pl.pipeline(..., stage=k)`."""

    def __init__(self, kind: str, args: tuple, stage: int | None = None):
        if not 1 <= len(args) <= 3:
            raise PlTypeError(f"pl.{kind} takes 1 to 3 bounds, got {len(args)}", user_loc())
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
        if isinstance(step, int) and step <= 0:
            raise PlValueError(f"pl.{kind} step must be positive, got {step}", user_loc())
        self.kind, self.start, self.stop, self.step, self.stage = kind, start, stop, step, stage

    def __iter__(self):
        b = _require_tracing(f"pl.{self.kind}")
        frame = user_frame()
        loc = Loc(display_path(frame.f_code.co_filename), frame.f_lineno)
        names = loop_assigned_names(frame)
        if names is None:
            raise PlSyntaxError(f"pl.{self.kind} needs the kernel's source file to find loop-carried "
                                f"variables; define kernels in a .py file", loc)
        bounds = [_idx(x, f"pl.{self.kind} bound") for x in (self.start, self.stop, self.step)]
        before, born = dict(frame.f_locals), births()
        # a stale view (made in a region that has closed) is not a value to carry: the name is new here
        inits = {n: before[n] for n in names if isinstance(before.get(n), Traced) and _visible_here(before[n])}
        carried: list[str] = []
        if inits:
            f = b.push("loop", None, Region([Value(ScalarType(INDEX), "i")]), loc)
            yield index_scalar(f.region.args[0])
            after = dict(frame.f_locals)
            _check_python_numbers_after(names, before, after, loc)
            carried = [n for n, h in inits.items() if _rebound(h, after.get(n))]
            b.discard_loop(f)
            if carried and self.kind == "parallel":
                raise PlValueError(f"pl.parallel iterations must be independent, but "
                                   f"{', '.join(carried)} is carried from one iteration to the next; "
                                   f"use pl.range", loc)
        yield from self._trace(b, frame, loc, inits, carried, bounds, born)
        _check_python_numbers_after(names, before, dict(frame.f_locals), loc)

    def _trace(self, b: B.Builder, frame, loc: Loc, inits: dict, carried: list[str], bounds: list, born: int):
        init_values = [_snapshot_value(inits[n]) for n in carried]
        op = ops.ForLoop(loc=loc, start=bounds[0], stop=bounds[1], step=bounds[2], init=(), kind=self.kind,
                         stage=self.stage)
        region = op.regions[0]
        f = b.push("loop", op, region, loc)
        index = Value(ScalarType(INDEX), "i")
        args = [Value(v.type, n) for n, v in zip(carried, init_values)]
        storages = [B.Storage(a, f, _kind(a), loc, a.hint) for a in args]
        now = frame.f_locals
        handles = _own_handles(frame, carried, [now.get(n, inits[n]) for n in carried], storages, born)
        saved = [h._rebind(s) if h is not None else None for h, s in zip(handles, storages)]
        real_start = births()
        yield index_scalar(index)
        after = dict(frame.f_locals)
        yields = []
        for n, a in zip(carried, args):
            h = after.get(n)
            if not isinstance(h, Traced):
                raise PlTypeError(f"loop-carried variable '{n}' is no longer a traced value at the end "
                                  f"of the loop body", loc)
            v = _snapshot_value(h)
            if v.type != a.type:
                raise PlTypeError(f"loop-carried variable '{n}' changes type in the loop: {a.type} "
                                  f"before, {v.type} after one iteration", loc)
            yields.append(v)
        results = _close_loop(b, f, index, args, init_values, yields)
        for h, old in zip(handles, saved):
            if h is not None:
                h._restore(old)
        finals = [B.Storage(r, b.frame, _kind(r), loc, n) for n, r in zip(carried, results)]
        for h, s in zip(_own_handles(frame, carried, [after[n] for n in carried], finals, real_start), finals):
            if h is not None:
                h._rebind(s)


def _own_handles(frame, names: list[str], handles: list, storages: list, born: int) -> list[Traced | None]:
    """Bind each carried name to its storage: returns the handle to rebind, or None where the name
    got a new handle over the storage instead.

    Rebinding the handle object a name holds rebinds every other name holding that object. That is
    right for a handle made during the last trace of the body (names that took it there are copies
    of the carried value), but not for one older than that trace (`acc = v` with `v` made before
    the loop: `v` must keep its value) nor for one that two carried names share.
    """
    out: list[Traced | None] = []
    for n, h, s in zip(names, handles, storages):
        if not isinstance(h, Traced) or h.born < born or any(h is o for o in out):
            set_local(frame, n, (Scalar if s.kind == "scalar" else Tensor)(s))
            h = None
        out.append(h)
    return out


def _kind(v: Value) -> str:
    return "scalar" if isinstance(v.type, ScalarType) else "tile"


def _close_loop(b: B.Builder, f: B.Frame, index: Value, args: list, inits: list, yields: list) -> list[Value]:
    """Finish a loop region: carried storages become extra block arguments; returns the results
    for the carried names."""
    b.pop(f)
    subst: dict[Value, Value] = {}
    written = []
    for s, (outer, arg) in f.placeholders.items():
        if s.current is arg:
            subst[arg] = outer
            s.current = outer
        else:
            written.append((s, outer, arg, s.current))
    op = f.op
    f.region.args = [index] + args + [w[2] for w in written]
    op.init = tuple(inits) + tuple(w[1] for w in written)
    f.region.ops.append(Yield(loc=op.loc, values=tuple(yields) + tuple(w[3] for w in written)))
    if subst:
        for inner in [op] + list(f.region.walk()):
            inner.replace_operands(subst)
    hints = [a.hint for a in args] + [s.next_version_hint() for s, *_ in written]
    op.results = [Value(a.type, h, owner=op) for a, h in zip(f.region.args[1:], hints)]
    for (s, *_), r in zip(written, op.results[len(args):]):
        b.set_current(s, r)
    return op.results[:len(args)]


def _check_python_numbers_after(names: list[str], before: dict, after: dict, loc: Loc) -> None:
    for n in names:
        old, new = before.get(n), after.get(n)
        if not isinstance(old, (int, float)) or isinstance(old, bool):
            continue
        if isinstance(new, Traced):
            raise PlSyntaxError(f"'{n}' is a Python number before the loop and a traced value inside it; "
                                f"the loop body is traced once, so it saw the number. Start it as a traced "
                                f"value (e.g. pl.const({old!r}, pl.INDEX) or a pl.full tile)", loc)
        if new != old:
            raise PlSyntaxError(f"the Python number '{n}' changes inside a traced loop, whose body is "
                                f"traced once; use pl.static_range to unroll the loop in Python", loc)


# --- spmd ---------------------------------------------------------------------------------------
class Spmd:
    """`for b in pl.spmd(n)` or `with pl.spmd(n) as b`: one task over n blocks."""

    def __init__(self, blocks: int, name_hint: str = ""):
        if isinstance(blocks, Traced) or not isinstance(blocks, int) or blocks <= 0:
            raise PlTypeError(f"pl.spmd block count must be a positive compile-time int, got {blocks!r}",
                              user_loc())
        self.blocks, self.name_hint = blocks, name_hint

    def __enter__(self) -> Scalar:
        b = _require_tracing("pl.spmd")
        _not_in_a_kernel(b, "pl.spmd")
        op = ops.Spmd(loc=user_loc(), blocks=self.blocks, name_hint=self.name_hint)
        op.regions[0].args = [Value(ScalarType(INDEX), "blk")]
        self.frame = b.push("spmd", op, op.regions[0])
        return index_scalar(op.regions[0].args[0])

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is None:
            B.active().close_transparent(self.frame)

    def __iter__(self):
        yield self.__enter__()
        self.__exit__(None)


class Region_:
    """`with pl.at(name_hint=...)` and `with pl.scope()`."""

    def __init__(self, kind: str, op_cls: type[Op], **fields: Any):
        self.kind, self.op_cls, self.fields = kind, op_cls, fields

    def __enter__(self) -> None:
        b = _require_tracing(self.op_cls.name)
        if self.kind == "at":
            _not_in_a_kernel(b, "pl.at")
        op = self.op_cls(loc=user_loc(), **self.fields)
        self.frame = b.push(self.kind, op, op.regions[0])

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is None:
            B.active().close_transparent(self.frame)


def _not_in_a_kernel(b: B.Builder, what: str) -> None:
    """Kernels do not nest: a pl.at / pl.spmd inside an open one is an error at its line (found while
    tracing, so the reference interpreter rejects it like the compiler does)."""
    outer = next((f for f in reversed(b.frames) if f.kind in ("at", "spmd")), None)
    if outer is not None:
        raise PlSyntaxError(f"{what} inside another kernel region ({outer.op.name} at {outer.loc}); "
                            f"kernels do not nest", user_loc())


# --- branches -----------------------------------------------------------------------------------
class Undefined(Traced):
    """A name assigned in only one branch of a traced `if`: an error where it is used."""

    __slots__ = ("name", "loc")
    usable = False  # never a value to carry into a loop

    def __init__(self, name: str, loc: Loc):
        self.name, self.loc = name, loc

    @property
    def value(self) -> Value:
        raise PlValueError(f"'{self.name}' is assigned in only one branch of the if at {self.loc}; "
                           f"assign it in both branches (or before the if)", user_loc())

    def __getattr__(self, attr: str):  # .dtype, .shape, ... of an undefined name: the same error
        return self.value


UNDEF = object()


def branch(cond: Any, then_fn: Callable, else_fn: Callable, names: tuple, values: tuple) -> tuple:
    """Run an `if` statement rewritten into two arm functions taking and returning `names`."""
    if not isinstance(cond, Traced):
        return (then_fn if cond else else_fn)(*values)
    b = _require_tracing("if")
    loc = user_loc()
    if not isinstance(cond, Scalar) or cond.dtype != BOOL:
        raise PlTypeError(f"`if` on a traced {cond.type} needs a BOOL scalar; compare it (e.g. x > 0)", loc)
    op = ops.If(loc=loc, cond=cond.value)
    b.frame.region.ops.append(op)
    arms = [_trace_arm(b, op, region, fn, values, loc) for region, fn in zip(op.regions, (then_fn, else_fn))]
    return _merge_arms(b, op, arms, names, values, loc)


def _trace_arm(b: B.Builder, op: Op, region: Region, fn: Callable, values: tuple, loc: Loc):
    f = b.push("arm", op, region, loc)
    outs = list(fn(*values))
    names = fn.__code__.co_varnames[:fn.__code__.co_argcount]
    for i, x in enumerate(outs):
        if isinstance(x, Traced) and not isinstance(x, Undefined) and not _visible_here(x):
            outs[i] = Undefined(names[i], loc)  # made inside a loop or region of the arm: not after it
    resolved = [x.value if isinstance(x, Traced) and not isinstance(x, Undefined) else x for x in outs]
    written = {s: s.current for s, e in f.entries.items() if s.current is not e}
    b.pop(f)
    for s, e in f.entries.items():
        s.current = e
    return outs, resolved, written, f


def _visible_here(x: Traced) -> bool:
    """Whether `x` can be used at this point (not local to a loop, scope or spmd that has closed)."""
    if not x.usable:
        return False
    f = x._storage.frame
    while f.closed:
        if f.kind not in B.TRANSPARENT:
            return False
        f = f.parent
    return True


def _merge_arms(b: B.Builder, op: Op, arms: list, names: tuple, values: tuple, loc: Loc) -> tuple:
    storages = list(dict.fromkeys(s for arm in arms for s in arm[2]))
    entry = {s: e for arm in arms for s, e in arm[3].entries.items()}
    yields: list[list[Value]] = [[arm[2].get(s, entry[s]) for s in storages] for arm in arms]
    outputs: list[Any] = []
    slots: list[int] = []
    for i, n in enumerate(names):
        (t, tv), (e, ev) = (arms[0][0][i], arms[0][1][i]), (arms[1][0][i], arms[1][1][i])
        if t is e:
            outputs.append(t)
            continue
        if isinstance(t, Undefined) or isinstance(e, Undefined) or t is UNDEF or e is UNDEF:
            outputs.append(Undefined(n, loc))
            continue
        if not isinstance(t, Traced) and not isinstance(e, Traced):
            if t != e:
                raise PlSyntaxError(f"the Python variable '{n}' gets different values in the two branches "
                                    f"of an if on a traced value", loc)
            outputs.append(t)
            continue
        tv, ev = (_as_value(op.regions[k], x, other.dtype) if not isinstance(x, Traced) else v
                  for k, (x, v, other) in enumerate(((t, tv, e), (e, ev, t))))
        if tv.type != ev.type:
            raise PlTypeError(f"'{n}' is {tv.type} in the then-branch but {ev.type} in the else-branch", loc)
        yields[0].append(tv)
        yields[1].append(ev)
        slots.append(i)
        outputs.append(None)
    for region, ys in zip(op.regions, yields):
        region.ops.append(Yield(loc=loc, values=tuple(ys)))
    hints = [s.next_version_hint() for s in storages] + [names[i] for i in slots]
    op.results = [Value(v.type, h, owner=op) for v, h in zip(yields[0], hints)]
    for s, r in zip(storages, op.results):
        b.set_current(s, r)
    for i, r in zip(slots, op.results[len(storages):]):
        outputs[i] = wrap(r)
    return tuple(outputs)


def _as_value(region: Region, x: Any, dtype) -> Value:
    """A Python number assigned in one arm, as a constant inside that arm."""
    if not isinstance(x, (int, float)):
        raise PlTypeError(f"cannot merge {type(x).__name__} with a traced value at the end of an if", user_loc())
    c = ops.Const(loc=user_loc(), value=float(x) if dtype.is_float else int(x), dtype=dtype)
    c.results = [Value(ScalarType(dtype), owner=c)]
    region.ops.append(c)
    return c.results[0]


def static_unroll(*args: int) -> range:
    for a in args:
        if isinstance(a, Traced):
            raise PlTypeError("pl.static_range / pl.unroll bounds must be compile-time ints", user_loc())
    return range(*args)

