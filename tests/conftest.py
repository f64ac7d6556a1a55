"""Test-wide checks.

Every kernel any test runs is also compiled through the pass pipeline and run again from copies of
the same arguments: the outputs must agree bitwise with the reference interpreter's (DESIGN.md §3:
passes must not change a bit). A test that runs a kernel thus checks the pipeline on it too.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pto.frontend.jit import Compiled  # noqa: E402
from pto.passes.pipeline import compile_function  # noqa: E402
from pto.sim.interpreter import run_program  # noqa: E402

_original_run = Compiled.run


def _run_and_check_pipeline(self, *args, platform=None, **kwargs):
    before = [np.array(a) if isinstance(a, np.ndarray) else a for a in self.runtime_args(args, kwargs)]
    result = _original_run(self, *args, platform=platform, **kwargs)
    after_args = self.runtime_args(args, kwargs)
    outs = run_program(compile_function(self.function).program, before)
    want = list(result) if isinstance(result, tuple) else ([] if result is None else [result])
    for i, (a, b) in enumerate(zip(after_args, before)):
        if isinstance(a, np.ndarray):
            assert a.tobytes() == b.tobytes(), f"argument {i} differs after the pass pipeline"
    for i, (a, b) in enumerate(zip(want, outs)):
        assert np.asarray(a).tobytes() == b.tobytes(), f"result {i} differs after the pass pipeline"
    return result


@pytest.fixture(autouse=True)
def check_pipeline_on_every_kernel(monkeypatch):
    monkeypatch.setattr(Compiled, "run", _run_and_check_pipeline)
