"""Parameter annotations: `pl.Tensor[[shape], dtype]`, `pl.Out[...]`, `pl.InOut[...]`, `pl.Scalar[dtype]`.

An unannotated tensor parameter is specialized from its argument; an unannotated Python number is
a compile-time constant (part of the cache key); `pl.Scalar[dtype]` is a runtime scalar parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..ir.types import DType


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...] | None = None
    dtype: DType | None = None
    direction: str = "in"


@dataclass(frozen=True)
class ScalarSpec:
    dtype: DType


class Tensor:
    """`pl.Tensor[[16, 64], pl.FP32]` annotates an input tensor parameter."""

    def __class_getitem__(cls, item: Any) -> TensorSpec:
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError("write pl.Tensor[[dims...], dtype]")
        shape, dtype = item
        return TensorSpec(tuple(int(d) for d in shape), dtype)


class _Direction:
    def __init__(self, direction: str):
        self.direction = direction

    def __getitem__(self, item: Any) -> TensorSpec:
        spec = item if isinstance(item, TensorSpec) else Tensor[item]
        return replace(spec, direction=self.direction)

    def __repr__(self) -> str:
        return f"pl.{self.direction.capitalize()}"


Out = _Direction("out")
InOut = _Direction("inout")


class Scalar:
    """`pl.Scalar[pl.INT32]` annotates a runtime scalar parameter."""

    def __class_getitem__(cls, dtype: DType) -> ScalarSpec:
        return ScalarSpec(dtype)


def spec_of(annotation: Any) -> TensorSpec | ScalarSpec | None:
    if isinstance(annotation, (TensorSpec, ScalarSpec)):
        return annotation
    if isinstance(annotation, _Direction):
        return TensorSpec(direction=annotation.direction)
    if annotation is Tensor:
        return TensorSpec()
    return None
