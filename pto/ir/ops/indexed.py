"""Data-dependent access: `pl.gather`, `pl.scatter` (any rank, along one dim), and `pl.topk`.

Positions. For an `index` tensor of rank n and a position p = (p0, ..., pn-1) of it, the *target*
of p along `dim` is p with its `dim` coordinate replaced by `index[p]`. For dim=0 and rank 2:

    gather:   out[i][j] = src[index[i][j]][j]           (numpy take_along_axis, torch.gather)
    scatter:  dst[index[i][j]][j] = src[i][j]           (numpy put_along_axis, torch.scatter)

`index` has the rank of the data operand and, in every dim other than `dim`, an extent no larger
than the data's (it may cover a corner of it); along `dim` its extent is free.

Duplicates (DESIGN.md §2). Scatter visits the positions of `index` in row-major order. Without
`reduce` the last visit to a target wins; with `reduce="add"` the target becomes
`((dst + src[p1]) + src[p2]) + ...` in that order, each addition rounded to dst's dtype like
`pl.add`. So the result depends only on the program, never on how a target splits the work.

Out-of-range indices (outside [0, extent of the data along dim)): `mode="check"` makes the
simulator raise an error naming the index value, its position, the bound and the op's line;
`mode="skip"` drops them (scatter writes nothing for them, gather yields 0): the `-1` = "no entry"
convention of slot mappings and paged caches.

A scatter into memory (a parameter, a create_tensor or a view of one) is a write: its result is the
next version of the destination's storage, exactly like `pl.assemble`, and the dependency analysis
treats it as a write to the whole destination view (its offsets are data). A scatter into a tile
is a value: the result is a new tile.
"""
from __future__ import annotations

from ..core import INT, STR, V, IRTypeError, Op, register
from ..types import BOOL, INT32, TensorType, Type
from .memory import storage_of

INDEX_MODES = ("check", "skip")
REDUCTIONS = ("add",)


def _tensor(v, what: str) -> TensorType:
    if not isinstance(v.type, TensorType):
        raise IRTypeError(f"{what} must be a tensor, got a scalar of type {v.type}")
    return v.type


def check_index(name: str, data: TensorType, index: TensorType, dim: int, mode: str) -> None:
    """The shape rules shared by gather and scatter (see the module docstring)."""
    if not index.dtype.is_int:
        raise IRTypeError(f"{name}: the index must be an integer tensor, got {index.dtype.name}")
    if len(index.shape) != len(data.shape):
        raise IRTypeError(f"{name}: index {list(index.shape)} and data {list(data.shape)} differ in rank")
    if not 0 <= dim < len(data.shape):
        raise IRTypeError(f"{name}: dim {dim} is out of range for a rank-{len(data.shape)} tensor")
    for d, (i, n) in enumerate(zip(index.shape, data.shape)):
        if d != dim and i > n:
            raise IRTypeError(f"{name}: index {list(index.shape)} is larger than the data "
                              f"{list(data.shape)} in dim {d} (only dim {dim} is indexed)")
    if mode not in INDEX_MODES:
        raise IRTypeError(f"{name}: mode '{mode}' is not one of {', '.join(INDEX_MODES)}")


@register
class Gather(Op):
    """`out[p] = src[target of p]` for every position p of `index`; the result has index's shape
    and src's dtype. Out-of-range entries: an error (mode "check") or 0 (mode "skip")."""

    name = "pl.gather"
    fields = {"src": V, "index": V, "dim": INT, "mode": STR}

    def infer(self) -> list[Type]:
        src = _tensor(self.src, "pl.gather source")
        index = _tensor(self.index, "pl.gather index")
        check_index(self.name, src, index, self.dim, self.mode)
        return [TensorType(index.shape, src.dtype)]


@register
class Scatter(Op):
    """`dst[target of p] = src[p]` (or `+=` with reduce "add") for every position p of `index` in
    row-major order; `src` has index's shape. The result is the next version of dst's storage."""

    name = "pl.scatter"
    fields = {"dst": V, "index": V, "src": V, "dim": INT, "reduce": STR, "mode": STR}
    optional = frozenset({"reduce"})

    def infer(self) -> list[Type]:
        dst = _tensor(self.dst, "pl.scatter destination")
        index = _tensor(self.index, "pl.scatter index")
        src = _tensor(self.src, "pl.scatter source")
        check_index(self.name, dst, index, self.dim, self.mode)
        if src.shape != index.shape:
            raise IRTypeError(f"pl.scatter: source {list(src.shape)} and index {list(index.shape)} "
                              f"must have the same shape")
        if src.dtype != dst.dtype:
            raise IRTypeError(f"pl.scatter of {src.dtype.name} data into a {dst.dtype.name} tensor; "
                              f"cast the source first (pl.cast)")
        if self.reduce is not None and self.reduce not in REDUCTIONS:
            raise IRTypeError(f"pl.scatter: reduce '{self.reduce}' is not one of None, "
                              f"{', '.join(REDUCTIONS)}")
        if self.reduce == "add" and dst.dtype == BOOL:
            raise IRTypeError("pl.scatter: reduce 'add' needs a numeric destination, got BOOL")
        return [storage_of(self.dst).type]


@register
class TopK(Op):
    """The k largest entries of each row of a 2-D tile, in descending order, and their column
    indices (INT32). Equal values rank by index, lower first; NaN ranks above every number."""

    name = "pl.topk"
    fields = {"src": V, "k": INT}

    def infer(self) -> list[Type]:
        t = _tensor(self.src, "pl.topk source")
        if len(t.shape) != 2:
            raise IRTypeError(f"pl.topk needs a 2-D tile, got {t.dtype.name}{list(t.shape)}")
        if t.dtype == BOOL:
            raise IRTypeError("pl.topk needs numeric values, got BOOL")
        if not 1 <= self.k <= t.shape[1]:
            raise IRTypeError(f"pl.topk: k={self.k} must be in [1, {t.shape[1]}] for rows of {t.shape[1]}")
        m = t.shape[0]
        return [TensorType((m, self.k), t.dtype), TensorType((m, self.k), INT32)]


__all__ = ["Gather", "Scatter", "TopK", "INDEX_MODES", "REDUCTIONS"]
