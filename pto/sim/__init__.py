"""Execution platforms. `ref` is the reference interpreter (program order, numpy); `a2a3sim` runs
the emitted orchestration C++ against runtime/ (a2a3sim.py)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import PlValueError
from .interpreter import run_function

PLATFORMS = ("ref", "a2a3sim")


def run_compiled(compiled: Any, args: list[Any], platform: str) -> list[np.ndarray]:
    """Run a compiled program; Out/InOut arrays are written in place, returns the returned arrays."""
    if platform not in PLATFORMS:
        raise PlValueError(f"unknown platform '{platform}'; available: {', '.join(PLATFORMS)}")
    prepared = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) and p.direction == "in" else a
                for a, p in zip(args, compiled.function.params)]
    if platform == "a2a3sim":
        from ..passes.pipeline import compile_function
        from .a2a3sim import run_a2a3sim
        return run_a2a3sim(compile_function(compiled.function), prepared)
    return run_function(compiled.function, prepared)
