"""Compile time: cold compile (trace + every pass + PTO-AS emission, ptoas excluded) of each example,
each model kernel (its first, small, case) and the DeepSeek-V4 decode layer (SWA, HCA, CSA); a warm
cache hit; a per-stage breakdown; and the scaling of a program made of 1, 2, 4, 8 stacked decode
layers (CSA, the largest: time per layer should stay flat).

    python -m benchmarks.compile_time [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pto.cli import load_cases  # noqa: E402
from pto.codegen.pto_asm import Unsupported, emit_kernel, kernel_functions  # noqa: E402
from pto.codegen.spelling import CURRENT  # noqa: E402
from pto.ir.gcpause import collector_paused  # noqa: E402
from pto.passes import pipeline  # noqa: E402
import pto.language as pl  # noqa: E402

from models.deepseek_v4 import decode_layer as DL  # noqa: E402


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def cold_stages(kernel, inputs: dict) -> dict[str, float]:
    """Seconds per stage of one cold compile (a fresh trace: the jit cache is bypassed), with the
    garbage collector paused as `kernel.compile` and `compile_function` pause it."""
    with collector_paused():
        return _cold_stages(kernel, inputs)


def _cold_stages(kernel, inputs: dict) -> dict[str, float]:
    (compiled, _), t_trace = timed(kernel._trace, _specs(kernel, inputs))
    times = {"trace": t_trace}
    c, t_copy = timed(lambda: pipeline.Compilation(pipeline.Program([pipeline.copy_function(compiled.function)])))
    times["copy"] = t_copy
    for p in pipeline.PASSES:
        c, t = timed(p.run, c)
        times[p.NAME] = t
    t0 = time.perf_counter()
    for k in kernel_functions(c.program):
        try:
            emit_kernel(k, CURRENT)
        except Unsupported:
            pass
    times["pto_asm"] = time.perf_counter() - t0
    return times


def best_of(repeats: int, kernel, inputs: dict) -> dict[str, float]:
    """The stage times of the fastest of `repeats` cold compiles (the machine is shared: the
    minimum is the least disturbed measurement)."""
    return min((cold_stages(kernel, inputs) for _ in range(repeats)), key=lambda st: sum(st.values()))


def _specs(kernel, inputs):
    from pto.frontend.jit import _arg_spec, _bind
    return tuple(_arg_spec(*a) for a in _bind(kernel.fn, (), inputs))


def warm_hit(case) -> float:
    inputs = {**case.make_inputs(), **case.consts}
    case.kernel.compile(**inputs)
    _, t = timed(lambda: case.kernel.compile(**inputs))
    return t


@pl.jit
def stacked_layers(x_hc, x_next: pl.Out, kv_cache: pl.InOut, cmp_kv: pl.InOut = None, kv_state: pl.InOut = None,
                   score_state: pl.InOut = None, idx_k: pl.InOut = None, idx_k_scale: pl.InOut = None,
                   idx_kv_state: pl.InOut = None, idx_score_state: pl.InOut = None, *, cfg, layer_type, layer_id,
                   n, **w):
    """`decode_layer` n times over: layer i's x_next is layer i + 1's x_hc."""
    caches = DL.layer_caches(layer_type, kv_cache, cmp_kv, kv_state, score_state, idx_k, idx_k_scale, idx_kv_state,
                             idx_score_state)
    x = x_hc
    for i in pl.static_range(n):
        y = x_next if i == n - 1 else pl.create_tensor(list(x_hc.shape), dtype=pl.FP32)
        DL.layer(x, y, caches, cfg, layer_type, layer_id, False, w)
        x = y


DECODE = ROOT / "models/deepseek_v4/decode_layer_cases.py"
STACKED_CASE = "decode_csa_auto_small"


def benchmarked_cases():
    """The first case of each example, the first (small) case of each model kernel's case file,
    and the decode layer: small SWA / HCA / CSA with automatic scopes, and Flash CSA."""
    for f in sorted(ROOT.glob("examples/*.py")) + sorted(ROOT.glob("models/deepseek_v4/*.py")):
        if f == DECODE or "\nCASES" not in f.read_text():
            continue
        yield from load_cases(str(f), None)[:1]
    yield from (c for c in load_cases(str(DECODE), None) if c.name.endswith(("_auto_small", "csa_auto_flash")))


def stacked_scaling(repeats: int) -> list[dict]:
    """Cold compile of 1, 2, 4, 8 stacked CSA decode layers: seconds per layer against one layer's,
    in total and for the stages that take the most time."""
    csa = next(c for c in load_cases(str(DECODE), None) if c.name == STACKED_CASE)
    inputs = {**csa.make_inputs(), **csa.consts}
    runs = {n: best_of(repeats, stacked_layers, {**inputs, "n": n}) for n in (1, 2, 4, 8)}
    top = sorted(runs[8], key=lambda k: -runs[8][k])[:4]
    print(f"\n{'decode layers':>13} {'cold s':>8} {'s/layer':>8} {'growth':>7}  " + "  ".join(f"{k:>10}" for k in top))
    base = runs[1]
    out = []
    for n, st in runs.items():
        total = sum(st.values())
        growth = total / n / sum(base.values())
        stage_growth = {k: st[k] / n / base[k] for k in top if base[k] > 0}
        print(f"{n:>13} {total:8.3f} {total / n:8.3f} {growth:7.2f}  "
              + "  ".join(f"{stage_growth.get(k, float('nan')):10.2f}" for k in top))
        out.append({"layers": n, "cold_s": total, "per_layer_s": total / n, "growth": growth, "stages_s": st})
    print("(growth = seconds per layer / one layer's; per stage likewise)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="benchmarks/results/compile_time.json")
    parser.add_argument("--repeats", type=int, default=3, help="cold compiles per program; the fastest counts")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'kernel':<36} {'cold s':>8} {'warm s':>9} {'warm/cold':>9}  slowest stages")
    for case in benchmarked_cases():
        st = best_of(args.repeats, case.kernel, {**case.make_inputs(), **case.consts})
        cold = sum(st.values())
        warm = warm_hit(case)
        top = ", ".join(f"{k} {v * 1e3:.0f}ms" for k, v in sorted(st.items(), key=lambda kv: -kv[1])[:3])
        print(f"{case.name:<36} {cold:8.3f} {warm:9.5f} {warm / cold:9.4f}  {top}")
        rows.append({"case": case.name, "cold_s": cold, "warm_s": warm, "stages_s": st})
    scaling = stacked_scaling(args.repeats)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"kernels": rows, "stacked_layers": scaling}, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
