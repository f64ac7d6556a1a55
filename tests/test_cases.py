"""Every example and DSL test kernel: matches its golden, and its IR survives a text round trip
(print -> parse -> print is identical, and the parsed IR computes bitwise the same outputs)."""
from __future__ import annotations

import numpy as np
import pytest

from pto.ir.parser import parse_function
from pto.ir.printer import print_function
from pto.ir.verifier import verify_function
from pto.sim.interpreter import run_function
from pto.testing import run_case

from case_files import all_cases

CASES = all_cases()


@pytest.mark.parametrize("path, case", CASES)
def test_matches_golden(path, case):
    _, comparisons = run_case(case)
    for c in comparisons:
        assert c.ok, f"{case.name}: {c}"


@pytest.mark.parametrize("path, case", CASES)
def test_ir_round_trip(path, case):
    inputs = case.make_inputs()
    compiled = case.kernel.compile(**inputs, **case.consts)
    text = print_function(compiled.function)
    parsed = parse_function(text)
    verify_function(parsed)
    assert print_function(parsed) == text

    args_a = compiled.runtime_args((), {**case.make_inputs(), **case.consts})
    args_b = compiled.runtime_args((), {**case.make_inputs(), **case.consts})
    outs_a = run_function(compiled.function, args_a)
    outs_b = run_function(parsed, args_b)
    for a, b in zip(args_a + outs_a, args_b + outs_b):
        if isinstance(a, np.ndarray):
            assert a.tobytes() == b.tobytes()
