"""`pl.gather`, `pl.scatter`, `pl.topk`: data-dependent access (DESIGN.md §2; semantics in
pto/ir/ops/indexed.py).

A scatter follows the same version discipline as `pl.assemble`: it emits one op whose result is the
next version of the destination's storage and makes that the current version, so every later read
of the destination, through any handle, view or inline helper, reads after the scatter. Into
memory that is a write the compiler orders; into a tile it is a new tile value (the handle passed
as `dst` then names it, as with `pl.assemble` into a tile).
"""
from __future__ import annotations

from typing import Any

from ..errors import PlTypeError
from ..frontend import builder as B
from ..frontend.handles import Tensor, check_writable, require_tensor, wrap
from ..frontend.source import user_loc
from ..ir import ops


def _dim(dim: Any, rank: int, what: str) -> int:
    """A compile-time dim; negative counts from the end, as in numpy."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise PlTypeError(f"{what}: dim must be a compile-time int, got {type(dim).__name__}", user_loc())
    return dim + rank if dim < 0 else dim


def gather(src: Tensor, index: Tensor, dim: int = 0, mode: str = "check") -> Tensor:
    """`out[p] = src[p with p[dim] = index[p]]`; `mode="skip"` reads 0 for out-of-range indices."""
    src = require_tensor(src, "pl.gather source")
    index = require_tensor(index, "pl.gather index")
    return wrap(B.active().emit(ops.Gather, src=src.value, index=index.value,
                                dim=_dim(dim, src.ndim, "pl.gather"), mode=mode)[0])


def scatter(dst: Tensor, index: Tensor, src: Tensor, dim: int = 0, reduce: str | None = None,
            mode: str = "check") -> Tensor:
    """`dst[p with p[dim] = index[p]] = src[p]` in row-major order of index (last wins), or `+=`
    with `reduce="add"` (summed in that order); returns `dst`, which now holds the write."""
    dst = require_tensor(dst, "pl.scatter destination")
    index = require_tensor(index, "pl.scatter index")
    src = require_tensor(src, "pl.scatter source")
    check_writable(dst)
    new = B.active().emit(ops.Scatter, dst=dst.value, index=index.value, src=src.value,
                          dim=_dim(dim, dst.ndim, "pl.scatter"), reduce=reduce, mode=mode,
                          hints=(dst._storage.next_version_hint(),))[0]
    B.active().set_current(dst._storage, new)
    return dst


def topk(x: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(values, INT32 indices) of the k largest entries of each row, descending, ties to the lower
    index."""
    x = require_tensor(x, "pl.topk source")
    if isinstance(k, bool) or not isinstance(k, int):
        raise PlTypeError(f"pl.topk: k must be a compile-time int, got {type(k).__name__}", user_loc())
    values, indices = B.active().emit(ops.TopK, src=x.value, k=k)
    return wrap(values), wrap(indices)


__all__ = ["gather", "scatter", "topk"]
