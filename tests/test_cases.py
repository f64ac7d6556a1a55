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


def test_a_case_file_may_define_dataclasses(tmp_path):
    """A case file is a module in sys.modules while it loads: a @dataclass under postponed
    annotations looks its module up there (this crashed `pto run` once)."""
    from pto.cli import load_cases
    f = tmp_path / "dc_case.py"
    f.write_text("from __future__ import annotations\nfrom dataclasses import dataclass\n"
                 "import numpy as np\nimport pto.language as pl\nfrom pto import testing as pt\n\n"
                 "@dataclass(frozen=True)\nclass Shape:\n    rows: int\n\nS = Shape(4)\n\n"
                 "@pl.jit\ndef twice(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):\n"
                 "    out[:, :] = pl.add(x, x)\n\n"
                 "CASES = [pt.Case('twice', twice, {'x': pt.normal((S.rows, 8), pl.FP32), "
                 "'out': pt.zeros((S.rows, 8), pl.FP32)}, lambda x, out: {'out': x + x}, atol=0.0, rtol=0.0)]\n")
    (case,) = load_cases(str(f), None)
    _, comparisons = run_case(case)
    assert all(c.ok for c in comparisons)
