"""Schedule quality: for every example and DSL test kernel, the timing model's predicted a2a3
makespan against the two lower bounds any schedule has: the critical path (the longest dependency
chain, orchestrator submits included) and the total work / cores (per core type, the larger);
utilization per core type; and what the model had to estimate (runtime trip counts, branches).
The task graph is the one an a2a3sim run in program order submitted (sanitizer off).

    python -m benchmarks.schedule [--json OUT]
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
from pto.sim.timing import A2A3, predict  # noqa: E402
from pto.sim.trace import simulate_case  # noqa: E402


def synthetic_case(n: int):
    """The n independent one-row copies of benchmarks.sim_throughput, as a case."""
    import numpy as np
    from benchmarks.sim_throughput import many_tasks
    from pto import testing as pt
    import pto.language as pl
    return pt.Case(f"synthetic_{n}_independent_tasks", many_tasks(n),
                   {"x": pt.normal((n, 8), pl.FP32), "out": pt.zeros((n, 8), pl.FP32)},
                   lambda x, out: {"out": np.asarray(x)})


def schedule_of(case) -> dict:
    sim, _ = simulate_case(case)
    case.release_inputs()  # a Flash case's inputs are GBs; the run is recorded in `sim`
    p = predict(sim)
    u = p.utilization()
    return {"case": case.name, "kernel_tasks": p.kernel_tasks,
            "blocks": sum(len(n.durations) for n in p.nodes if n.kind in ("aic", "aiv", "mixed")),
            "makespan_us": p.makespan / 1e3, "critical_path_us": p.critical_path / 1e3,
            "work_per_core_us": p.work_bound / 1e3, "submit_us": p.submit_total / 1e3,
            "makespan_over_critical_path": p.makespan / p.critical_path,
            "aic_util": u["aic"], "aiv_util": u["aiv"], "estimates": p.notes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="benchmarks/results/schedule.json")
    args = parser.parse_args(argv)
    print(f"{'case':<44} {'tasks':>5} {'blocks':>6} {'makespan':>9} {'crit.path':>9} {'work/core':>9} "
          f"{'span/cp':>7} {'AIC%':>5} {'AIV%':>5} est")
    rows = []
    cases = [case for f in CASE_FILES for case in load_cases(str(f), None)] + [synthetic_case(10_000)]
    for case in cases:
        r = schedule_of(case)
        rows.append(r)
        print(f"{r['case']:<44} {r['kernel_tasks']:>5} {r['blocks']:>6} {r['makespan_us']:9.2f} "
              f"{r['critical_path_us']:9.2f} {r['work_per_core_us']:9.2f} "
              f"{r['makespan_over_critical_path']:7.3f} {100 * r['aic_util']:5.1f} {100 * r['aiv_util']:5.1f} "
              f"{len(r['estimates'])}")
    print("\n(us; makespan >= max(critical path, work/core) always; 'est' = loops or branches the model "
          "estimated, listed in the JSON)")
    notes = sorted({n for r in rows for n in r["estimates"]})
    for n in notes:
        print(f"  estimate: {n}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": {k: getattr(A2A3, k) for k in A2A3.__dataclass_fields__},
                               "kernels": rows}, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
