"""Pass specifications as IR text: each tests/passes/ir/<pass>.pir holds an input program and,
after `// CHECK:`, the exact text the one pass named by the file must print. Cases are separated
by `// -----`."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from pto.ir.parser import parse_program
from pto.ir.printer import print_program
from pto.ir.verifier import verify_program
from pto.passes.pipeline import Compilation

IR_DIR = Path(__file__).resolve().parent / "ir"


def _cases():
    for path in sorted(IR_DIR.glob("*.pir")):
        for i, chunk in enumerate(path.read_text().split("// -----\n")):
            source, expected = chunk.split("// CHECK:\n")
            expected = "".join(line[3:] if line.startswith("// ") else line[2:] for line in expected.splitlines(True))
            yield pytest.param(path.stem, source, expected, id=f"{path.stem}-{i}")


@pytest.mark.parametrize("pass_name, source, expected", list(_cases()))
def test_pass_output_is_exactly_the_checked_text(pass_name, source, expected):
    program = parse_program(source)
    verify_program(program)
    c = importlib.import_module(f"pto.passes.{pass_name}").run(Compilation(program))
    verify_program(c.program)
    assert print_program(c.program) == expected
