"""Platform a2a3sim, first slice (program order, no sanitizer): every example and DSL test kernel
runs its emitted orchestration C++ against runtime/ and matches the reference interpreter
bitwise; the runtime counts exactly the submits the orchestration makes; a kernel failing inside a
task surfaces as a Python exception naming the kernel.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.passes.pipeline import compile_function
from pto.sim import run_compiled
from pto.sim.a2a3sim import A2a3SimError, Simulation

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from case_files import all_cases  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")

# Cases a2a3sim cannot run yet, with the reason (each must fail exactly so; none may be missing).
KNOWN_UNSUPPORTED: dict[str, str] = {}


def _arrays(args):
    return [a for a in args if isinstance(a, np.ndarray)]


@pytest.mark.parametrize("path, case", all_cases())
def test_matches_reference_bitwise(path, case):
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    ref_args = compiled.runtime_args((), {**case.make_inputs(), **case.consts})
    sim_args = compiled.runtime_args((), {**case.make_inputs(), **case.consts})
    ref_outs = run_compiled(compiled, ref_args, "ref")
    if case.name in KNOWN_UNSUPPORTED:
        print(f"a2a3sim cannot run {case.name} yet: {KNOWN_UNSUPPORTED[case.name]}")
        with pytest.raises(NotImplementedError):
            run_compiled(compiled, sim_args, "a2a3sim")
        return
    sim_outs = run_compiled(compiled, sim_args, "a2a3sim")
    assert len(sim_outs) == len(ref_outs)
    for i, (a, b) in enumerate(zip(_arrays(ref_args) + ref_outs, _arrays(sim_args) + sim_outs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes(), f"{case.name}: array {i} differs from the reference interpreter"


def test_known_unsupported_cases_exist():
    names = {case.values[1].name for case in all_cases()}
    assert set(KNOWN_UNSUPPORTED) <= names, "a known-unsupported case no longer exists"


# --- task counts --------------------------------------------------------------------------------
from programs import columns_then_all, produce_accumulate  # noqa: E402  (shared test programs)


def _simulate(kernel, *args):
    sim = Simulation(compile_function(kernel.compile(*args).function))
    sim.run(list(args))
    return sim.counters


def test_task_count_of_a_loop():
    # 7 iterations x (produce, accumulate); no workspace, no joins
    c = _simulate(produce_accumulate, np.ones((8, 4), np.float32), np.zeros((8, 4), np.float32),
                  np.zeros((1, 4), np.float32))
    assert (c.tasks_submitted, c.kernel_tasks, c.dummy_tasks, c.alloc_tasks) == (14, 14, 0, 0)


def test_task_count_with_joins():
    # 4 cols tasks, each chained into a pto_join dummy task, then `all`
    c = _simulate(columns_then_all, np.ones((4, 64), np.float32), np.zeros((4, 64), np.float32))
    assert (c.tasks_submitted, c.kernel_tasks, c.dummy_tasks, c.alloc_tasks) == (9, 5, 4, 0)
    assert c.max_scope_depth >= 1


# --- errors -------------------------------------------------------------------------------------
@pl.jit
def row_from_table(x: pl.Tensor[[8, 16], pl.FP32], sel: pl.Tensor[[1, 2], pl.INT32],
                   out: pl.Out[pl.Tensor[[1, 16], pl.FP32]]):
    with pl.at(name_hint="pick_row"):
        r = pl.read(sel, [0, 0])
        out[:, :] = pl.exp(x[r : r + 1, :])


def test_kernel_error_surfaces_naming_the_kernel():
    x = np.arange(128, dtype=np.float32).reshape(8, 16) / 64
    out, ref = np.zeros((1, 16), np.float32), np.zeros((1, 16), np.float32)
    row_from_table(x, np.array([[3, 0]], np.int32), out, platform="a2a3sim")
    row_from_table(x, np.array([[3, 0]], np.int32), ref, platform="ref")
    assert out.tobytes() == ref.tobytes()
    with pytest.raises(A2a3SimError, match=r"kernel `pick_row`.*out of bounds"):
        row_from_table(x, np.array([[100, 0]], np.int32), out, platform="a2a3sim")
