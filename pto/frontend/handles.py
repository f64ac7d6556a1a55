"""The Python objects a kernel author holds while tracing: `Tensor` and `Scalar`.

A handle names a storage plus a view path (slices and reshapes from the storage). Its IR value is
re-derived whenever the storage has a newer version (see builder.py).
"""
from __future__ import annotations

import itertools
from typing import Any

from ..errors import PlSyntaxError, PlTypeError, PlValueError
from ..ir import ops
from ..ir.core import Value
from ..ir.types import DType, ScalarType
from . import builder as B
from .source import user_loc


_BIRTHS = itertools.count()


def births() -> int:
    """A number below every handle made from now on (see Traced.born)."""
    return next(_BIRTHS)


class Traced:
    __slots__ = ("_storage", "_path", "_value", "_derived", "_home", "born")

    def __init__(self, storage: "B.Storage", path: tuple = (), value: Value | None = None,
                 home: "B.Frame | None" = None):
        self.born = next(_BIRTHS)  # creation order: tells loop tracing which handles existed before a trace
        self._storage = storage
        self._path = path
        self._home = home  # the region whose values the path's offsets use (None: static path)
        self._value = value if value is not None else storage.current
        # version of the storage -> (view derived from it, frame it was derived in)
        self._derived: dict[Value, tuple[Value, "B.Frame | None"]] = {
            storage.current: (self._value, B.active().frame if path else None)}

    @property
    def value(self) -> Value:
        """The IR value of this handle here: its view re-derived from the storage's current
        version, unless a derivation from that version is still in scope."""
        b = B.active()
        if self._home is not None and self._home.closed:
            raise PlValueError(f"this view was made inside the {B.region_name(self._home)} at {self._home.loc} with "
                               f"offsets computed there, and is used after it; make the view where it is used",
                               user_loc())
        cur = b.current(self._storage)
        hit = self._derived.get(cur)
        if hit is not None and (hit[1] is None or not hit[1].closed):
            self._value = hit[0]
            return hit[0]
        v = cur
        for step in self._path:
            v = _apply_view(v, step)
        self._derived[cur] = (v, b.frame if self._path else None)
        self._value = v
        return v

    @property
    def type(self):
        return self._value.type

    @property
    def dtype(self) -> DType:
        return self._value.type.dtype

    def _rebind(self, storage: "B.Storage", path: tuple = ()) -> tuple:
        old = (self._storage, self._path, self._value, self._derived, self._home)
        self._storage, self._path, self._value, self._home = storage, path, storage.current, None
        self._derived = {storage.current: (storage.current, None)}
        return old

    def _restore(self, old: tuple) -> None:
        self._storage, self._path, self._value, self._derived, self._home = old

    @property
    def usable(self) -> bool:
        """False for a view whose offsets belong to a region that has closed."""
        return self._home is None or not self._home.closed

    def __bool__(self) -> bool:
        raise PlSyntaxError("a traced value is used as a Python bool (while, and/or, assert, or an `if` "
                            "inside a statement that has break/continue/return); only a plain `if` on a "
                            "traced scalar becomes a branch", user_loc())

    def __index__(self) -> int:
        raise PlSyntaxError("a traced value is used where Python needs a compile-time int (range(), a "
                            "shape, a list index); use pl.range for loops over traced bounds", user_loc())

    __int__ = __index__

    def __iter__(self):
        raise PlSyntaxError("a traced tensor cannot be iterated in Python; use pl.range and slices",
                            user_loc())


def _apply_view(v: Value, step: tuple) -> Value:
    kind, *args = step
    if kind == "slice":
        return B.active().emit(ops.Slice, src=v, offsets=args[0], sizes=args[1])[0]
    return B.active().emit(ops.Reshape, src=v, shape=args[0])[0]


def wrap(value: Value, kind: str | None = None) -> "Tensor | Scalar":
    """A handle over a fresh op result (a new storage)."""
    b = B.active()
    if isinstance(value.type, ScalarType):
        return Scalar(b.new_storage(value, "scalar"))
    return Tensor(b.new_storage(value, kind or "tile"))


def _binary(cls, a: Any, b: Any) -> "Tensor | Scalar":
    from ..language import ops as L
    return L.binary(cls, a, b)


class _Arithmetic:
    """Python operators on traced values: + - * / and comparisons, as the pl ops."""

    __slots__ = ()
    __add__ = lambda a, b: _binary(ops.Add, a, b)  # noqa: E731
    __radd__ = lambda a, b: _binary(ops.Add, b, a)  # noqa: E731
    __sub__ = lambda a, b: _binary(ops.Sub, a, b)  # noqa: E731
    __rsub__ = lambda a, b: _binary(ops.Sub, b, a)  # noqa: E731
    __mul__ = lambda a, b: _binary(ops.Mul, a, b)  # noqa: E731
    __rmul__ = lambda a, b: _binary(ops.Mul, b, a)  # noqa: E731
    __truediv__ = lambda a, b: _binary(ops.Div, a, b)  # noqa: E731
    __rtruediv__ = lambda a, b: _binary(ops.Div, b, a)  # noqa: E731
    __lt__ = lambda a, b: _binary(ops.Lt, a, b)  # noqa: E731
    __le__ = lambda a, b: _binary(ops.Le, a, b)  # noqa: E731
    __gt__ = lambda a, b: _binary(ops.Gt, a, b)  # noqa: E731
    __ge__ = lambda a, b: _binary(ops.Ge, a, b)  # noqa: E731


class Tensor(_Arithmetic, Traced):
    """A traced tensor: a view of a parameter, a `create_tensor`, or a tile computed by ops."""

    __slots__ = ()

    @property
    def shape(self) -> list[int]:
        return list(self._value.type.shape)

    @property
    def ndim(self) -> int:
        return len(self._value.type.shape)

    def __repr__(self) -> str:
        return f"Tensor({self._value.type})"

    def view(self, step: tuple) -> "Tensor":
        view = _apply_view(self.value, step)  # self.value first: it settles storage.current
        dynamic = step[0] == "slice" and any(isinstance(o, Value) for o in step[1])
        return Tensor(self._storage, self._path + (step,), view, B.active().frame if dynamic else self._home)

    def __getitem__(self, key: Any) -> "Tensor | Scalar":
        from ..language.ops import subscript
        return subscript(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        from ..language.ops import subscript_assign
        subscript_assign(self, key, value)


    def __neg__(self) -> "Tensor":
        from ..language import ops as L
        return L.neg(self)


class Scalar(_Arithmetic, Traced):
    """A traced scalar (loop index, value read from a tensor, index arithmetic).

    `affine` is its affine form when it was built by + - and * by constants (see affine.py), so that
    `t[i : i + 8]` has the static size 8 even though `i` is traced; None means "an atom".
    """

    __slots__ = ("affine",)

    def __init__(self, storage: "B.Storage", path: tuple = (), value: Value | None = None):
        super().__init__(storage, path, value)
        self.affine = None

    def __repr__(self) -> str:
        return f"Scalar({self._value.type})"

    def _rebind(self, storage: "B.Storage", path: tuple = ()) -> tuple:
        old = (super()._rebind(storage, path), self.affine)
        self.affine = None  # the form of the old value: the new storage is an atom of its own
        return old

    def _restore(self, old: tuple) -> None:
        super()._restore(old[0])
        self.affine = old[1]

    __floordiv__ = lambda a, b: _binary(ops.Floordiv, a, b)  # noqa: E731
    __rfloordiv__ = lambda a, b: _binary(ops.Floordiv, b, a)  # noqa: E731
    __mod__ = lambda a, b: _binary(ops.Mod, a, b)  # noqa: E731
    __rmod__ = lambda a, b: _binary(ops.Mod, b, a)  # noqa: E731
    __eq__ = lambda a, b: _binary(ops.Eq, a, b)  # noqa: E731
    __ne__ = lambda a, b: _binary(ops.Ne, a, b)  # noqa: E731
    __hash__ = object.__hash__

    def __neg__(self) -> "Scalar":
        return _binary(ops.Sub, 0, self)


def index_scalar(value: Value) -> Scalar:
    return wrap(value)


def require_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Traced) and not isinstance(x, Tensor):
        x.value  # an undefined name reports itself here  # noqa: B018
    if not isinstance(x, Tensor):
        raise PlTypeError(f"{what} must be a tensor, got {type(x).__name__}", user_loc())
    return x


def check_writable(t: Tensor) -> None:
    if t._storage.kind == "in":
        raise PlValueError(f"write to the input parameter '{t._storage.hint}'; declare it "
                           f"pl.Out[...] or pl.InOut[...] to write it", user_loc())

