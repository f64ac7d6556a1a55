"""The differential fuzzer's fast profile (the long one: `python -m pto.fuzz --programs 5000 --jobs 2`).

Each program is traced, run on the reference interpreter, compiled through the pass pipeline and run again
on copies of the same arguments; every output must agree bitwise and the traced IR must survive
print -> parse -> print. The fuzzer does that comparison itself, so the conftest's re-check of every
kernel call (which would run the pipeline a second time) is switched off here.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pto import fuzz
from pto.frontend.jit import Compiled

REGRESSIONS = Path(__file__).parent / "regressions"  # test_fuzz_<name>.py: each bug the fuzzer found
# Compiled.run as pto defines it: taken at import, before any conftest fixture wraps it (importing
# `conftest` by name is ambiguous: tests/ and tests/regressions/ each have one)
PLAIN_RUN = Compiled.run
PROGRAMS = 200  # per chunk: 400 programs in 2 processes take 30-45 s on this 2-core machine


@pytest.fixture
def plain_run(monkeypatch):
    monkeypatch.setattr(Compiled, "run", PLAIN_RUN)


@pytest.mark.parametrize("seed", [0, 100_000])
def test_fast_profile_finds_nothing(plain_run, seed):
    failures = fuzz.run(PROGRAMS, seed=seed, jobs=2)
    assert not failures, f"{len(failures)} of {PROGRAMS} programs fail; the first:\n{failures[0]}"


def test_every_known_bug_has_its_regression_test():
    assert {f"test_fuzz_{name}.py" for name in fuzz.KNOWN_BUGS} <= {p.name for p in REGRESSIONS.glob("test_fuzz_*.py")}


def test_programs_are_reproducible_and_varied():
    assert fuzz.generate(7) == fuzz.generate(7)
    sources = [fuzz.generate(s)[0] for s in range(200)]
    text = "\n".join(sources)
    for construct in ("pl.parallel(", "pl.spmd(", "with pl.at(", "with pl.scope():", "@pl.jit(auto_scope=False)",
                      "pl.create_tensor(", "pl.reshape(", "pl.assemble(", "pl.write(", "pl.read(", "h_store(",
                      "h_rows(", "h_put(", "h_mix(", "h_norm(", "pl.row_", "pl.col_", "pl.exp(", "if n", "else:",
                      "pl.range(n", "return "):
        assert construct in text, construct
    assert len(set(sources)) == len(sources)


def test_a_difference_after_the_passes_is_reported_with_the_program(plain_run, monkeypatch, tmp_path):
    run_program = fuzz.run_program

    def run_and_corrupt(program, args):
        outs = run_program(program, args)
        args[0][0, 0] += 1  # as if the compiled program had written into its input x0
        return outs

    monkeypatch.setattr(fuzz, "run_program", run_and_corrupt)
    report = fuzz.check(3, str(tmp_path))
    assert report.startswith("program 3 fails at compare: differs after the passes: 'x0' at [[0, 0]]")
    assert report.endswith(fuzz.generate(3)[0])


def test_an_exception_is_reported_with_its_stage(plain_run, tmp_path):
    broken = fuzz.generate(3)[0] + "\nkernel = None\n"
    report = fuzz.check(3, str(tmp_path), source=broken)
    assert report.startswith("program 3 fails at trace: AttributeError") and report.endswith(broken)
