"""Platform a2a3sim: every example, DSL test kernel and model kernel runs its emitted orchestration
C++ against runtime/ under the sanitizer and matches the reference interpreter bitwise, in program
order and under seeds 0..9; the runtime counts exactly the submits the orchestration makes; a
kernel failing inside a task surfaces as an error naming the kernel and the line.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from pto.passes.pipeline import compile_function
from pto.sim import run_compiled
from pto.sim.a2a3sim import A2a3SimError, Simulation, SimOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from case_files import all_cases  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")

# Cases a2a3sim cannot run yet, with the reason (each must fail exactly so; none may be missing).
KNOWN_UNSUPPORTED: dict[str, str] = {}


def _arrays(args):
    return [a for a in args if isinstance(a, np.ndarray)]


SEEDS = range(10)


@pytest.mark.parametrize("path, case", all_cases())
def test_matches_reference_bitwise_under_every_seed(path, case):
    """Program order under the sanitizer (its check does not depend on the schedule), then seeds
    0..9 of the random schedule: every output bitwise equal to the reference interpreter's."""
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    fresh = lambda: compiled.runtime_args((), {**case.make_inputs(), **case.consts})  # noqa: E731
    ref_args = fresh()
    ref_outs = run_compiled(compiled, ref_args, "ref")
    want = _arrays(ref_args) + ref_outs
    if case.name in KNOWN_UNSUPPORTED:
        print(f"a2a3sim cannot run {case.name} yet: {KNOWN_UNSUPPORTED[case.name]}")
        with pytest.raises(NotImplementedError):
            run_compiled(compiled, fresh(), "a2a3sim")
        return
    sim = Simulation(compile_function(compiled.function))
    for options in [SimOptions(seed=None, sanitize=True)] + [SimOptions(seed=s, sanitize=False) for s in SEEDS]:
        sim_args = fresh()
        sim_outs = sim.run(sim_args, options)
        got = _arrays(sim_args) + sim_outs
        assert len(got) == len(want)
        for i, (a, b) in enumerate(zip(want, got)):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tobytes() == b.tobytes(), f"{case.name}: array {i} differs from the reference ({options})"


def test_seeds_give_different_orders():
    """The random schedule really reorders independent tasks (else the seeds test nothing)."""
    sim = Simulation(compile_function(columns_then_all.compile(np.ones((4, 64), np.float32),
                                                                np.zeros((4, 64), np.float32)).function))
    orders = set()
    for seed in SEEDS:
        sim.run([np.ones((4, 64), np.float32), np.zeros((4, 64), np.float32)], SimOptions(seed=seed))
        orders.add(tuple(sim.log.order))
    assert len(orders) >= 3


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
    with pytest.raises(PlValueError, match=r"out of bounds.*kernel `pick_row`"):
        row_from_table(x, np.array([[100, 0]], np.int32), out, platform="a2a3sim")

