"""Execution platforms. `ref` is the reference interpreter (program order, numpy)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import PlValueError
from .interpreter import run_function

PLATFORMS = ("ref",)


def run_compiled(compiled: Any, args: list[Any], platform: str) -> list[np.ndarray]:
    """Run a compiled program; Out/InOut arrays are written in place, returns the returned arrays."""
    if platform not in PLATFORMS:
        raise PlValueError(f"unknown platform '{platform}'; available: {', '.join(PLATFORMS)}")
    prepared = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) and p.direction == "in" else a
                for a, p in zip(args, compiled.function.params)]
    return run_function(compiled.function, prepared)
