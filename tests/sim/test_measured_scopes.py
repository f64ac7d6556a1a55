"""Scope statistics measured on a2a3sim agree with the compile-time ones (DESIGN.md §5).

Examples and DSL test kernels: exactly. Model kernels may measure less where a planned use is data
dependent and touches nothing in the run (a slot mapping full of -1 writes no cache row); never more,
and the allocated bytes always agree.
"""
from __future__ import annotations

import shutil

import pytest

from pto.analysis.scope_stats import scope_stats
from pto.sim.a2a3sim import simulation_of
from pto.sim.measured_scopes import measured_scope_stats

from case_files import all_cases

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")


def _both(case):
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    sim = simulation_of(compiled)
    sim.run(compiled.runtime_args((), {**case.make_inputs(), **case.consts}))
    return scope_stats(sim.entry, sim.compilation.facts["memplan"]), measured_scope_stats(sim)


@pytest.mark.parametrize("path, case", all_cases())
def test_measured_scope_stats_agree(path, case):
    planned, measured = _both(case)
    if "models" not in path.parts:
        assert measured == planned
        return
    assert [(r.site, r.depth, r.allocated) for r in measured] == [(r.site, r.depth, r.allocated) for r in planned]
    assert all(m.peak <= p.peak and m.held <= p.held for m, p in zip(measured, planned))


def test_a_use_that_touches_nothing_measures_less():
    """The compressor step with every slot -1 plans its state staging but never writes it."""
    case = next(c.values[1] for c in all_cases() if c.values[1].name == "compressor_ratio128_no_slots")
    planned, measured = _both(case)
    assert measured[0].peak < planned[0].peak
