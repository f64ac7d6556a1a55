"""Reference semantics of `pl.gather`, `pl.scatter` and `pl.topk` (pto/ir/ops/indexed.py).

Scatter never relies on numpy's fancy assignment for duplicate targets (numpy leaves their order
unspecified): without reduce it keeps the last visit of each target explicitly; with reduce "add"
it applies the visits in rounds, round r adding every position that is the r-th visit of its
target, so each target sees its additions in index order, rounded to the dtype after each one.
"""
from __future__ import annotations

import numpy as np

from ..errors import PlValueError
from ..ir import ops
from . import numerics as N
from .interpreter import _writable_view, handles


def _in_range(op, index: np.ndarray, bound: int) -> np.ndarray:
    """Which positions of `index` hit [0, bound); with mode "check" any other is an error."""
    ok = (index >= 0) & (index < bound)
    if op.mode == "check" and not ok.all():
        pos = tuple(int(c) for c in np.argwhere(~ok)[0])
        raise PlValueError(f"{op.name}: index value {int(index[pos])} at index position {list(pos)} is out "
                           f"of range [0, {bound}) along dim {op.dim}; pass mode=\"skip\" to drop such "
                           f"entries", op.loc)
    return ok


def _targets(index: np.ndarray, dim: int, keep: np.ndarray) -> tuple[np.ndarray, ...]:
    """Coordinates (one array per dim) of the targets of the kept positions, in row-major order."""
    coords = list(np.indices(index.shape))
    coords[dim] = index
    return tuple(c[keep] for c in coords)


@handles(ops.Gather)
def _gather(it, op, env):
    src = np.asarray(env[op.src])
    index = np.asarray(env[op.index]).astype(np.int64)
    keep = _in_range(op, index, src.shape[op.dim])
    out = np.zeros(index.shape, dtype=src.dtype)
    targets = _targets(index, op.dim, keep)
    if op.src in it.memory:  # only the gathered elements are read (a skipped index reads nothing)
        it.observe(op, "r", env[op.src], targets)
    out[keep] = src[targets]
    return [out]


def _visit_rank(flat: np.ndarray) -> np.ndarray:
    """For each visit, how many earlier visits (in order) went to the same target."""
    order = np.argsort(flat, kind="stable")
    sorted_targets = flat[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_targets)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(flat)]))
    rank = np.empty(len(flat), dtype=np.int64)
    rank[order] = np.arange(len(flat)) - group_start
    return rank


@handles(ops.Scatter)
def _scatter(it, op, env):
    root, view = _writable_view(it, op.dst, env)
    index = np.asarray(env[op.index]).astype(np.int64)
    keep = _in_range(op, index, view.shape[op.dim])
    flat = np.ravel_multi_index(_targets(index, op.dim, keep), view.shape) if keep.any() else np.zeros(0, np.int64)
    values = np.asarray(env[op.src])[keep]
    dtype = op.src.type.dtype
    if op.dst in it.memory:
        targets = np.unravel_index(np.unique(flat), view.shape)
        if op.reduce is not None:
            it.observe(op, "r", view, targets)
        it.observe(op, "w", view, targets)
    if op.reduce is None:
        _, first_from_end = np.unique(flat[::-1], return_index=True)
        last = len(flat) - 1 - first_from_end
        view[np.unravel_index(flat[last], view.shape)] = values[last]
        return [root]
    rank = _visit_rank(flat)
    for r in range(int(rank.max(initial=-1)) + 1):
        at = np.unravel_index(flat[rank == r], view.shape)
        view[at] = N.binary(ops.Add, view[at], values[rank == r], dtype, dtype)
    return [root]


@handles(ops.TopK)
def _topk(it, op, env):
    """Descending, ties to the lower index: a stable ascending sort of the reversed row, reversed."""
    x = np.asarray(env[op.src])
    wide = x.astype(np.float64) if op.src.type.dtype.is_float else x.astype(np.int64)
    n = wide.shape[1]
    rev = np.argsort(wide[:, ::-1], axis=1, kind="stable")[:, ::-1]
    idx = (n - 1 - rev)[:, :op.k]
    return [np.take_along_axis(x, idx, axis=1), idx.astype(np.int32)]
