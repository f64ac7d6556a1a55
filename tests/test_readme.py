"""The IR dump shown in the README is what `pto dump examples/softmax.py` prints today."""
from __future__ import annotations

import os
import re
from pathlib import Path

from pto.cli import load_cases
from pto.ir.printer import print_function

ROOT = Path(__file__).resolve().parent.parent


def test_readme_ir_dump_is_current(monkeypatch):
    monkeypatch.chdir(ROOT)  # locations print relative to the working directory
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```\n(func @softmax.*?\n})\n```", readme, re.S).group(1)
    case = load_cases(os.path.join("examples", "softmax.py"), None)[0]
    compiled = case.kernel.compile(**case.make_inputs())
    assert print_function(compiled.function).strip() == shown.strip()
