"""Kernel cases: inputs from seeded generators, a numpy golden, a tolerance.

A case file (an example, a model kernel) defines `CASES = [Case(...), ...]`; `pto run FILE` and the
tests run them. The golden receives the generated inputs (copies) and returns the expected value of
each output: an Out/InOut parameter by name, or "return" (a tuple return: "return0", "return1", ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .ir.types import DType


@dataclass(frozen=True)
class Input:
    """A generated array: `kind` is "normal", "uniform", "randint", "zeros" or "full"."""

    shape: tuple[int, ...]
    dtype: DType
    kind: str = "normal"
    seed: int = 0
    low: float = 0.0
    high: float = 1.0
    scale: float = 1.0

    def make(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if self.kind == "normal":
            x = rng.standard_normal(self.shape) * self.scale
        elif self.kind == "uniform":
            x = rng.uniform(self.low, self.high, self.shape)
        elif self.kind == "randint":
            x = rng.integers(int(self.low), int(self.high), self.shape)
        elif self.kind == "full":
            x = np.full(self.shape, self.low)
        else:
            x = np.zeros(self.shape)
        return x.astype(self.dtype.np)


def normal(shape, dtype, seed=0, scale=1.0) -> Input:
    return Input(tuple(shape), dtype, "normal", seed, scale=scale)


def uniform(shape, dtype, low, high, seed=0) -> Input:
    return Input(tuple(shape), dtype, "uniform", seed, low, high)


def randint(shape, dtype, low, high, seed=0) -> Input:
    return Input(tuple(shape), dtype, "randint", seed, low, high)


def zeros(shape, dtype) -> Input:
    return Input(tuple(shape), dtype, "zeros")


@dataclass
class Case:
    name: str
    kernel: Any  # a JitFunction
    inputs: dict[str, Input]
    golden: Callable[..., dict[str, np.ndarray]]
    atol: float = 0.0
    rtol: float = 0.0
    consts: dict[str, Any] = field(default_factory=dict)
    # False for cases too large for the test suite (a model's full-size configuration): `pto run`
    # still runs them, tests/case_files.py leaves them out.
    in_test_suite: bool = True

    # the generated inputs, made once (generators are seeded; a full-size model's take seconds)
    _made: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def make_inputs(self) -> dict[str, np.ndarray]:
        """Fresh copies of the case's inputs (kernels write their outputs in place)."""
        if not self._made:
            self._made.update({k: spec.make() for k, spec in self.inputs.items()})
        return {k: v.copy() for k, v in self._made.items()}

    def release_inputs(self) -> None:
        """Drop the made inputs (a full-size model's are GBs); the next make_inputs makes them again."""
        self._made.clear()


@dataclass
class Comparison:
    output: str
    max_abs: float
    max_rel: float
    mismatches: int
    size: int

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def compare(name: str, actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float) -> Comparison:
    """Elementwise |a - e| <= atol + rtol * |e|, computed in float64; NaN matches NaN only."""
    if actual.shape != expected.shape:
        return Comparison(name, float("inf"), float("inf"), int(expected.size), int(expected.size))
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(e)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan, 0.0, np.abs(a - e))
        diff = np.where(np.isnan(diff), np.inf, diff)
        bad = diff > atol + rtol * np.abs(np.nan_to_num(e))
        rel = diff / np.maximum(np.abs(np.nan_to_num(e)), np.finfo(np.float64).tiny)
    return Comparison(name, float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), int(bad.sum()), int(e.size))


def run_case(case: Case, platform: str | None = None) -> tuple[dict[str, np.ndarray], list[Comparison]]:
    """Run the kernel on fresh inputs and compare every output the golden names."""
    inputs = case.make_inputs()
    golden_inputs = {k: v.copy() for k, v in inputs.items()}
    result = case.kernel(**inputs, **case.consts, platform=platform)
    outputs = dict(inputs)
    if isinstance(result, tuple):
        outputs.update({f"return{i}": r for i, r in enumerate(result)})
    elif result is not None:
        outputs["return"] = result
    expected = case.golden(**golden_inputs, **case.consts)
    return outputs, [compare(k, outputs[k], np.asarray(v), case.atol, case.rtol) for k, v in expected.items()]


def format_comparisons(case: Case, comparisons: list[Comparison]) -> str:
    lines = [f"{case.name}:"]
    for c in comparisons:
        status = "ok" if c.ok else "MISMATCH"
        lines.append(f"  {c.output:<16} max_abs={c.max_abs:.3e} max_rel={c.max_rel:.3e} "
                     f"mismatches={c.mismatches}/{c.size}  (atol={case.atol:g}, rtol={case.rtol:g})  {status}")
    return "\n".join(lines)
