"""PTO-AS emission: golden texts for a vector, a cube and a mixed kernel in both spellings, and the
list of every example / test kernel that each dialect can or cannot express (printed, with why)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pto.cli import load_cases
from pto.codegen.pto_asm import Unsupported, emit_kernel, kernel_functions
from pto.codegen.spelling import DIALECTS
from pto.passes.pipeline import compile_function

from case_files import CASE_FILES, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("PTO_UPDATE_GOLDEN") == "1"


def kernels_of(path: Path):
    for case in load_cases(str(path), None):
        c = compile_function(case.kernel.compile(**case.make_inputs(), **case.consts).function)
        yield from kernel_functions(c.program)


def emitted(path: Path, kernel: str, dialect: str) -> str:
    k = next(k for k in kernels_of(path) if k.name == kernel)
    try:
        return emit_kernel(k, DIALECTS[dialect])
    except Unsupported as e:
        return f"// not expressible in the {dialect} dialect: {e.reason}\n"


GOLDEN_CASES = [
    ("vector", "examples/softmax.py", "softmax_2"),
    ("cube", "tests/kernels/cube_matmul.py", "mm_tiles"),
    ("mixed_aic", "tests/kernels/cube_matmul.py", "mm_exp__aic"),
    ("mixed_aiv", "tests/kernels/cube_matmul.py", "mm_exp__aiv"),
]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("label, path, kernel", GOLDEN_CASES)
def test_golden_text(label, path, kernel, dialect, monkeypatch):
    monkeypatch.chdir(ROOT)  # locations print relative to the repository
    text = emitted(ROOT / path, kernel, dialect)
    golden = GOLDEN / f"{label}.{dialect}.pto"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text(), f"regenerate with PTO_UPDATE_GOLDEN=1 if the change is intended: {golden}"


def test_every_kernel_is_emitted_or_reported(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    sent, not_sent = [], []
    for path in CASE_FILES:
        for k in kernels_of(path):
            for name, dialect in sorted(DIALECTS.items()):
                try:
                    text = emit_kernel(k, dialect)
                    assert f"func.func @{k.name}(" in text
                    sent.append((k.name, name))
                except Unsupported as e:
                    not_sent.append(f"{path.stem}:{k.name} [{name}]: {e}")
    with capsys.disabled():
        print(f"\nPTO-AS: {len(sent)} kernel texts emitted; not expressible ({len(not_sent)}):", file=sys.stderr)
        for line in not_sent:
            print("  " + line, file=sys.stderr)
    assert ("softmax_2", "0.1.1") in sent and ("mm_tiles", "0.1.1") in sent


def test_real_ptoas_accepts_every_kernel_the_0_1_1_dialect_expresses(monkeypatch, capsys):
    """Every example and DSL test kernel that the 0.1.1 spelling can express goes through the real
    ptoas 0.1.1 (exit 0 required); the ones that cannot be sent are printed with the reason."""
    from pto.codegen.ptoas_tool import find_ptoas, prepare_ptoas, validate

    ptoas = find_ptoas() or prepare_ptoas()
    monkeypatch.chdir(ROOT)
    accepted, not_sent = [], []
    for path in CASE_FILES:
        for k in kernels_of(path):
            try:
                text = emit_kernel(k, DIALECTS["0.1.1"])
            except Unsupported as e:
                not_sent.append(f"{path.stem}:{k.name}: {e}")
                continue
            result = validate(text, k.name, ptoas=ptoas)
            assert result.ok, f"ptoas rejected {k.name}:\n" + "\n".join(result.diagnostics) + "\n" + text
            accepted.append(k.name)
    with capsys.disabled():
        print(f"\nptoas 0.1.1 accepted {len(set(accepted))} kernels: {sorted(set(accepted))}", file=sys.stderr)
        print(f"not sent ({len(not_sent)}):", file=sys.stderr)
        for line in sorted(set(not_sent)):
            print("  " + line, file=sys.stderr)
    assert {"softmax_2", "vector_add_2", "mm_tiles"} <= set(accepted)
