"""Affine forms of traced integer scalars: sum(coeff * atom) + const.

Slice bounds are Python expressions evaluated before the slice sees them, so `t[b * 2 : b * 2 + 2]`
hands over two separately traced values. Their affine forms differ by the constant 2, which gives
the slice its static size. Atoms are the storages of scalars that are not affine in others (loop
indices, values read from tensors, parameters).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Affine:
    terms: frozenset  # of (atom, coefficient) with coefficient != 0
    const: int

    @staticmethod
    def of_atom(atom: Any) -> "Affine":
        return Affine(frozenset({(atom, 1)}), 0)

    def _combine(self, other: "Affine", sign: int) -> "Affine":
        coeffs: dict[Any, int] = dict(self.terms)
        for atom, c in other.terms:
            coeffs[atom] = coeffs.get(atom, 0) + sign * c
        return Affine(frozenset((a, c) for a, c in coeffs.items() if c), self.const + sign * other.const)

    def __add__(self, other: "Affine") -> "Affine":
        return self._combine(other, 1)

    def __sub__(self, other: "Affine") -> "Affine":
        return self._combine(other, -1)

    def scale(self, k: int) -> "Affine":
        return Affine(frozenset((a, c * k) for a, c in self.terms if c * k), self.const * k)

    @property
    def is_const(self) -> bool:
        return not self.terms
