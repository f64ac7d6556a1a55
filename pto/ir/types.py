"""IR value types: dtypes, tensor and scalar types, source locations.

Everything here is a frozen dataclass: types are compared by value and shared freely.
"""
from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DType:
    """An element type. `name` is the spelling used by the IR text and by `pl` (lower case here)."""

    name: str
    bits: int
    kind: str  # "float", "int", "uint" or "bool"

    @property
    def np(self) -> np.dtype:
        return _NUMPY[self.name]

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def nbytes(self) -> int:
        return max(self.bits // 8, 1)

    def __repr__(self) -> str:
        return f"pl.{self.name.upper()}"


BF16 = DType("bf16", 16, "float")
FP16 = DType("fp16", 16, "float")
FP32 = DType("fp32", 32, "float")
FP8E4M3 = DType("fp8e4m3", 8, "float")
FP8E5M2 = DType("fp8e5m2", 8, "float")
INT8 = DType("int8", 8, "int")
UINT8 = DType("uint8", 8, "uint")
INT16 = DType("int16", 16, "int")
INT32 = DType("int32", 32, "int")
INT64 = DType("int64", 64, "int")
BOOL = DType("bool", 8, "bool")
# INDEX is the type of loop indices, offsets and shape arithmetic (64-bit, as on the AICPU).
INDEX = DType("index", 64, "int")

ALL_DTYPES = (BF16, FP16, FP32, FP8E4M3, FP8E5M2, INT8, UINT8, INT16, INT32, INT64, BOOL, INDEX)
DTYPES_BY_NAME = {d.name: d for d in ALL_DTYPES}

_NUMPY = {
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "fp16": np.dtype(np.float16),
    "fp32": np.dtype(np.float32),
    "fp8e4m3": np.dtype(ml_dtypes.float8_e4m3fn),
    "fp8e5m2": np.dtype(ml_dtypes.float8_e5m2),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
    "index": np.dtype(np.int64),
}


def dtype_of_numpy(dt: np.dtype) -> DType | None:
    """The pl dtype of a numpy dtype (int64 maps to INT64, never INDEX)."""
    for d in ALL_DTYPES:
        if d is not INDEX and _NUMPY[d.name] == np.dtype(dt):
            return d
    return None


@dataclass(frozen=True)
class TensorType:
    """A tensor (or tile) of static shape. Row-major; views carry their own shape."""

    shape: tuple[int, ...]
    dtype: DType

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.nbytes

    def __str__(self) -> str:
        return f"{self.dtype.name}[{', '.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class ScalarType:
    dtype: DType

    def __str__(self) -> str:
        return self.dtype.name


Type = TensorType | ScalarType


@dataclass(frozen=True)
class Loc:
    """A user source location: every IR op carries the file:line of the DSL line that produced it."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


UNKNOWN_LOC = Loc("<unknown>", 0)
