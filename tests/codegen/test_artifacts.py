"""The artifact directory: layout, kernel config, reports, and a stable hash."""
from __future__ import annotations

import json
import subprocess
import sys

from pto.cli import load_cases
from pto.codegen.artifacts import build

from case_files import ROOT


def softmax_function():
    case = load_cases(str(ROOT / "examples" / "softmax.py"), None)[0]
    return case.kernel.compile(**case.make_inputs()).function


def test_layout_config_and_reports(tmp_path):
    out, c = build(softmax_function(), tmp_path)
    assert out.name.startswith("softmax-") and len(out.name) == len("softmax-") + 12
    assert sorted(p.name for p in (out / "ir").iterdir())[0] == "00_trace.pir"
    assert len(list((out / "ir").iterdir())) == 1 + 6  # trace + one dump per pass
    config = json.loads((out / "kernel_config.json").read_text())["kernels"]
    assert [(k["name"], k["core"], k["blocks"]) for k in config] == [("softmax_2", "aiv", 4)]
    assert [p["direction"] for p in config[0]["params"]] == ["in", "out", "block"]
    assert (out / config[0]["pto"]).read_text().startswith("!tb0 = ")
    assert "kernel_entry(__gm__ int64_t* args)" in (out / "kernels/aiv/softmax_2.wrapper.cpp").read_text()
    plan = json.loads((out / "report/memory_plan.json").read_text())
    assert plan["workspace"] == c.facts["memplan"].workspace
    assert (out / "report/scope_stats.jsonl").read_text().count("\n") == 1  # the function frame only
    again, _ = build(softmax_function(), tmp_path)
    assert again == out  # same program, same directory


def test_pto_build_command(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pto.cli", "build", str(ROOT / "examples" / "vector_add.py"),
                        "-o", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    path = tmp_path / r.stdout.split(": ")[1].strip().split("/")[-1]
    assert (path / "kernel_config.json").is_file()
