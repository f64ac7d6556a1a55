"""Discovery of case files (examples and DSL test kernels) shared by the tests."""
from __future__ import annotations

from pathlib import Path

from pto.cli import load_cases

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = (sorted(ROOT.glob("examples/*.py")) + sorted(ROOT.glob("tests/kernels/*.py"))
              + [f for f in sorted(ROOT.glob("models/*/*.py")) if "\nCASES" in f.read_text()])


def all_cases():
    """(file, case) for every case every case file defines, as pytest params with readable ids
    (except the cases marked in_test_suite=False: full-size model configurations)."""
    import pytest

    out = []
    for f in CASE_FILES:
        for case in load_cases(str(f), None):
            if not case.in_test_suite:
                continue
            out.append(pytest.param(f, case, id=f"{f.stem}:{case.name}"))
    return out
