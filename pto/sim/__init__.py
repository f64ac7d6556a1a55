"""Execution platforms. `ref` is the reference interpreter (program order, numpy); `a2a3sim` (the
default) runs the emitted orchestration C++ against runtime/ under the sanitizer (a2a3sim.py)."""
from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any, Iterator

import numpy as np

from ..errors import PlValueError
from .interpreter import run_function

PLATFORMS = ("ref", "a2a3sim")
DEFAULT_PLATFORM = "a2a3sim"


@contextlib.contextmanager
def sim_options(**changes: Any) -> Iterator[None]:
    """Within the block, a2a3sim runs use these options (`seed=`, `sanitize=`): how `pto run --seed N`
    and `--no-sanitize` reach a kernel call without reserving keyword names kernels may use."""
    from . import a2a3sim
    saved = a2a3sim.DEFAULT_OPTIONS
    a2a3sim.DEFAULT_OPTIONS = replace(saved, **changes)
    try:
        yield
    finally:
        a2a3sim.DEFAULT_OPTIONS = saved


def run_compiled(compiled: Any, args: list[Any], platform: str) -> list[np.ndarray]:
    """Run a compiled program; Out/InOut arrays are written in place, returns the returned arrays."""
    if platform not in PLATFORMS:
        raise PlValueError(f"unknown platform '{platform}'; available: {', '.join(PLATFORMS)}")
    prepared = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) and p.direction == "in" else a
                for a, p in zip(args, compiled.function.params)]
    if platform == "a2a3sim":
        from .a2a3sim import simulation_of
        return simulation_of(compiled).run(prepared)
    return run_function(compiled.function, prepared)
