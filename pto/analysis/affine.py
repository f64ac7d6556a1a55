"""Affine forms of IR index values and ranges of boxes.

`affine(v)` reads an index value as sum(coeff * atom) + const, where atoms are values the analysis
cannot see through (loop indices, parameters, values read from tensors). A box dimension is a
half-open range [lo, hi) of two affine forms; `eliminate` turns a loop index with known bounds into
the hull of the range it sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..frontend.affine import Affine
from ..ir import ops
from ..ir.core import Value


def affine(x: int | Value) -> Affine:
    if isinstance(x, int):
        return Affine(frozenset(), x)
    owner = x.owner
    if isinstance(owner, ops.Const) and isinstance(owner.value, int):
        return Affine(frozenset(), owner.value)
    if isinstance(owner, ops.Add):
        return affine(owner.lhs) + affine(owner.rhs)
    if isinstance(owner, ops.Sub):
        return affine(owner.lhs) - affine(owner.rhs)
    if isinstance(owner, ops.Mul):
        a, b = affine(owner.lhs), affine(owner.rhs)
        if a.is_const:
            return b.scale(a.const)
        if b.is_const:
            return a.scale(b.const)
    if isinstance(owner, ops.Cast) and owner.dtype.is_int and owner.src.type.dtype.is_int:
        return affine(owner.src)
    return Affine.of_atom(x)


@dataclass(frozen=True)
class Span:
    """A half-open range [lo, hi) of one box dimension."""

    lo: Affine
    hi: Affine

    def substitute(self, atom: object, by: Affine) -> "Span":
        return Span(substitute(self.lo, atom, by), substitute(self.hi, atom, by))


def substitute(a: Affine, atom: object, by: Affine) -> Affine:
    coeff = dict(a.terms).get(atom)
    if coeff is None:
        return a
    rest = Affine(frozenset((x, c) for x, c in a.terms if x is not atom), a.const)
    return rest + by.scale(coeff)


def eliminate(span: Span, atom: object, first: int, last: int) -> Span:
    """The hull of `span` as `atom` runs over [first, last]."""
    lo_c = dict(span.lo.terms).get(atom, 0)
    hi_c = dict(span.hi.terms).get(atom, 0)
    lo = substitute(span.lo, atom, Affine(frozenset(), first if lo_c >= 0 else last))
    hi = substitute(span.hi, atom, Affine(frozenset(), last if hi_c >= 0 else first))
    return Span(lo, hi)


def atoms(span: Span) -> set:
    return {a for a, _ in span.lo.terms} | {a for a, _ in span.hi.terms}
