"""Memory-plan quality: for every example and DSL test kernel, the workspace bytes with no reuse
(naive), the planned peak (the workspace the plan allocates), the liveness lower bound (the most
bytes live at any program point) and peak / lower bound; and automatic against manual scopes for
the kernels written both ways (cases whose names differ only in "auto" / "manual").

    python -m benchmarks.memory_plan [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from case_files import CASE_FILES  # noqa: E402
from pto.cli import load_cases  # noqa: E402
from pto.passes.pipeline import compile_function  # noqa: E402

TARGET = 1.10  # issue 9: planned peak / lower bound on every kernel


def plan_of(case) -> dict:
    c = compile_function(case.kernel.compile(**case.make_inputs(), **case.consts).function)
    case.release_inputs()  # only their shapes mattered
    plan = c.facts["memplan"]
    ratio = plan.workspace / plan.lower_bound if plan.lower_bound else None
    return {"case": case.name, "buffers": len(plan.allocs), "naive": plan.naive, "planned": plan.workspace,
            "lower_bound": plan.lower_bound, "ratio": ratio,
            "auto_scope": c.program.entry.attrs.get("auto_scope") is not False}


def pairs(rows: list[dict]) -> list[tuple[dict, dict]]:
    """(auto, manual) rows of the same kernel written both ways."""
    by_name = {r["case"]: r for r in rows}
    return [(by_name[n.replace("manual", "auto")], r) for n, r in by_name.items()
            if "manual" in n and n.replace("manual", "auto") in by_name]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="benchmarks/results/memory_plan.json")
    args = parser.parse_args(argv)
    rows = [plan_of(case) for f in CASE_FILES for case in load_cases(str(f), None)]
    print(f"{'case':<44} {'bufs':>4} {'naive B':>9} {'planned B':>9} {'lower B':>9} {'peak/lower':>10}")
    for r in rows:
        ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "n/a"
        print(f"{r['case']:<44} {r['buffers']:>4} {r['naive']:>9,} {r['planned']:>9,} {r['lower_bound']:>9,} {ratio:>10}")
    with_ws = [r for r in rows if r["ratio"] is not None]
    misses = [r for r in with_ws if r["ratio"] > TARGET]
    worst = max(with_ws, key=lambda r: r["ratio"]) if with_ws else None
    print(f"\n{len(with_ws)} of {len(rows)} cases use a workspace; peak/lower bound > {TARGET}: "
          f"{len(misses)}" + (f"; worst {worst['case']} {worst['ratio']:.3f}" if worst else ""))
    print(f"\n{'kernel (auto vs manual scopes)':<44} {'auto B':>9} {'manual B':>9} {'auto<=manual':>12}")
    compared = []
    for auto, manual in pairs(rows):
        ok = auto["planned"] <= manual["planned"]
        compared.append({"auto": auto["case"], "manual": manual["case"], "auto_planned": auto["planned"],
                         "manual_planned": manual["planned"], "auto_not_above_manual": ok})
        print(f"{manual['case'].replace('_manual', ''):<44} {auto['planned']:>9,} {manual['planned']:>9,} {str(ok):>12}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"kernels": rows, "auto_vs_manual": compared, "target": TARGET}, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
