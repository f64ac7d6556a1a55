"""Ops that create tensors, take views, and read or write memory.

Storage model (DESIGN.md §3): every tensor value is either *storage* (a parameter, a
`create_tensor`, a `full`/`arange` or compute result, or a version produced by a write) or a *view*
(`slice`/`reshape`) of one. A write (`assemble`, `write`) names a view as its destination and
produces the next version of that view's storage, so memory effects are explicit SSA edges.
"""
from __future__ import annotations

import numpy as np

from ..core import DTYPE, IDXS, INT, INTS, NUM, V, IRTypeError, Op, Value, register
from ..types import INDEX, ScalarType, TensorType, Type


def storage_of(v: Value) -> Value:
    """Follow slice/reshape views back to the storage value they look at."""
    while v.owner is not None and isinstance(v.owner, (Slice, Reshape)):
        v = v.owner.src
    return v


def _tensor(v: Value, what: str) -> TensorType:
    if not isinstance(v.type, TensorType):
        raise IRTypeError(f"{what} must be a tensor, got a scalar of type {v.type}")
    return v.type


def check_index_operands(idx: tuple, what: str) -> None:
    for x in idx:
        if isinstance(x, Value) and not (isinstance(x.type, ScalarType) and x.type.dtype.is_int):
            raise IRTypeError(f"{what} must be integers, got {x.type}")


def check_box(shape: tuple[int, ...], offsets: tuple, sizes: tuple[int, ...], what: str) -> None:
    """Static bounds check of a box; dynamic offsets only need the size to fit."""
    if len(offsets) != len(shape) or len(sizes) != len(shape):
        raise IRTypeError(f"{what}: rank mismatch: tensor has shape {list(shape)}, "
                          f"offsets {len(offsets)} and sizes {len(sizes)} given")
    check_index_operands(offsets, f"{what} offsets")
    for d, (off, size, dim) in enumerate(zip(offsets, sizes, shape)):
        lo = off if isinstance(off, int) else 0
        if size < 0 or lo < 0 or lo + size > dim:
            start = off if isinstance(off, int) else "?"
            raise IRTypeError(f"{what} out of bounds in dim {d}: [{start}, {start} + {size}) "
                              f"does not fit in a tensor of shape {list(shape)}")


@register
class CreateTensor(Op):
    """A new uninitialised buffer in GM (its contents are undefined until written). After memory
    planning, `offset` is its byte offset in the entry's workspace."""

    name = "pl.create_tensor"
    fields = {"shape": INTS, "dtype": DTYPE, "offset": INT}
    optional = frozenset({"offset"})

    def infer(self) -> list[Type]:
        return [TensorType(tuple(self.shape), self.dtype)]


@register
class Full(Op):
    """A tile filled with one value."""

    name = "pl.full"
    fields = {"shape": INTS, "dtype": DTYPE, "value": NUM}

    def infer(self) -> list[Type]:
        return [TensorType(tuple(self.shape), self.dtype)]


@register
class Arange(Op):
    """A tile holding start, start+1, ... in row-major order."""

    name = "pl.arange"
    fields = {"shape": INTS, "dtype": DTYPE, "start": NUM}

    def infer(self) -> list[Type]:
        return [TensorType(tuple(self.shape), self.dtype)]


@register
class Const(Op):
    """A scalar constant."""

    name = "pl.const"
    fields = {"value": NUM, "dtype": DTYPE}

    def infer(self) -> list[Type]:
        return [ScalarType(self.dtype)]


@register
class Slice(Op):
    """A rectangular view `src[offsets : offsets + sizes]` (no copy)."""

    name = "pl.slice"
    fields = {"src": V, "offsets": IDXS, "sizes": INTS}

    def infer(self) -> list[Type]:
        t = _tensor(self.src, "slice source")
        check_box(t.shape, self.offsets, self.sizes, "slice")
        return [TensorType(tuple(self.sizes), t.dtype)]


@register
class Reshape(Op):
    """A view with a new shape over the same elements (row-major)."""

    name = "pl.reshape"
    fields = {"src": V, "shape": INTS}

    def infer(self) -> list[Type]:
        t = _tensor(self.src, "reshape source")
        if int(np.prod(t.shape)) != int(np.prod(self.shape)):
            raise IRTypeError(f"reshape from {list(t.shape)} to {list(self.shape)} changes the element count")
        return [TensorType(tuple(self.shape), t.dtype)]


@register
class Load(Op):
    """A copy of the current contents of a view (a tile that later writes do not change)."""

    name = "pl.load"
    fields = {"src": V}

    def infer(self) -> list[Type]:
        return [_tensor(self.src, "load source")]


@register
class Assemble(Op):
    """Write `src` into view `dst` at `offsets`; the result is the next version of dst's storage."""

    name = "pl.assemble"
    fields = {"dst": V, "src": V, "offsets": IDXS}

    def infer(self) -> list[Type]:
        dst = _tensor(self.dst, "assemble destination")
        src = _tensor(self.src, "assemble source")
        if src.dtype != dst.dtype:
            raise IRTypeError(f"assemble of {src.dtype.name} data into a {dst.dtype.name} tensor; "
                              f"cast the source first (pl.cast)")
        if len(src.shape) != len(dst.shape):
            raise IRTypeError(f"assemble of a rank-{len(src.shape)} tile {list(src.shape)} into a "
                              f"rank-{len(dst.shape)} tensor {list(dst.shape)}")
        check_box(dst.shape, self.offsets, src.shape, "assemble")
        return [storage_of(self.dst).type]


@register
class Write(Op):
    """Write one scalar element; the result is the next version of dst's storage."""

    name = "pl.write"
    fields = {"dst": V, "offsets": IDXS, "value": V}

    def infer(self) -> list[Type]:
        dst = _tensor(self.dst, "write destination")
        if not isinstance(self.value.type, ScalarType):
            raise IRTypeError("pl.write stores a scalar; use pl.assemble to store a tile")
        if self.value.type.dtype != dst.dtype:
            raise IRTypeError(f"pl.write of a {self.value.type.dtype.name} scalar into a "
                              f"{dst.dtype.name} tensor; cast it first")
        check_box(dst.shape, self.offsets, (1,) * len(dst.shape), "pl.write")
        return [storage_of(self.dst).type]


@register
class Read(Op):
    """Read one scalar element."""

    name = "pl.read"
    fields = {"src": V, "offsets": IDXS}

    def infer(self) -> list[Type]:
        t = _tensor(self.src, "pl.read source")
        check_box(t.shape, self.offsets, (1,) * len(t.shape), "pl.read")
        return [ScalarType(t.dtype)]


INDEX_TYPE = ScalarType(INDEX)
