"""Compile time: cold compile (trace + every pass + PTO-AS emission, ptoas excluded) of each example
and DSL test kernel, a warm cache hit, a per-stage breakdown, and the scaling of a program made of
1, 2, 4, 8 stacked attention layers (time per layer should stay flat).

    python -m benchmarks.compile_time [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "kernels"))

from pto.cli import load_cases  # noqa: E402
from pto.codegen.pto_asm import Unsupported, emit_kernel, kernel_functions  # noqa: E402
from pto.codegen.spelling import CURRENT  # noqa: E402
from pto.passes import pipeline  # noqa: E402


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def stages(case) -> dict[str, float]:
    """Seconds per stage of one cold compile of `case` (a fresh trace: the cache is bypassed)."""
    inputs = {**case.make_inputs(), **case.consts}
    specs = tuple(case.kernel.__class__.__mro__ and _specs(case.kernel, inputs))
    (compiled, _), t_trace = timed(case.kernel._trace, specs)
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


def _specs(kernel, inputs):
    from pto.frontend.jit import _arg_spec, _bind
    return tuple(_arg_spec(*a) for a in _bind(kernel.fn, (), inputs))


def warm_hit(case) -> float:
    inputs = {**case.make_inputs(), **case.consts}
    case.kernel.compile(**inputs)
    _, t = timed(lambda: case.kernel.compile(**inputs))
    return t


def stacked(n: int) -> float:
    """Cold compile seconds of a program of n sparse-attention layers in sequence."""
    import sparse_attention as sa
    import pto.language as pl

    @pl.jit
    def layers(q: pl.Tensor[[sa.T, sa.H, sa.HEAD_DIM], pl.BF16], kv_cache: pl.Tensor[[sa.CACHE_ROWS, sa.HEAD_DIM], pl.BF16],
               topk_idx: pl.Tensor[[sa.T, sa.PADDED_TOPK], pl.INT32], attn_sink: pl.Tensor[[sa.H], pl.FP32],
               wo: pl.Tensor[[sa.O_GROUPS * sa.O_GROUP_IN, sa.O_LORA], pl.BF16],
               rope_cos: pl.Tensor[[sa.T * sa.H, sa.ROPE_DIM], pl.FP32],
               out: pl.Out[pl.Tensor[[sa.T, sa.O_GROUPS * sa.O_LORA], pl.FP32]], n):
        for _ in pl.static_range(n):
            sa.sparse_attn(q, kv_cache, topk_idx, attn_sink, wo, rope_cos, out, False)

    inputs = {k: v.make() for k, v in sa._inputs(0).items()}
    t0 = time.perf_counter()
    compiled = layers.compile(**inputs, n=n)
    c = pipeline.compile_function(compiled.function)
    for k in kernel_functions(c.program):
        try:
            emit_kernel(k, CURRENT)
        except Unsupported:
            pass
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="benchmarks/results/compile_time.json")
    args = parser.parse_args(argv)
    files = sorted(ROOT.glob("examples/*.py")) + [ROOT / "tests/kernels/sparse_attention.py",
                                                   ROOT / "tests/kernels/attention_merge.py"]
    rows = []
    print(f"{'kernel':<34} {'cold s':>8} {'warm s':>9} {'warm/cold':>9}  slowest stages")
    for f in files:
        for case in load_cases(str(f), None)[:1]:
            st = stages(case)
            cold = sum(st.values())
            warm = warm_hit(case)
            top = ", ".join(f"{k} {v * 1e3:.0f}ms" for k, v in sorted(st.items(), key=lambda kv: -kv[1])[:3])
            print(f"{case.name:<34} {cold:8.3f} {warm:9.5f} {warm / cold:9.4f}  {top}")
            rows.append({"case": case.name, "cold_s": cold, "warm_s": warm, "stages_s": st})
    print(f"\n{'layers':>6} {'cold s':>8} {'s/layer':>8} {'growth vs 1':>12}")
    scaling = []
    base = None
    for n in (1, 2, 4, 8):
        t = stacked(n)
        per = t / n
        base = base or per
        scaling.append({"layers": n, "cold_s": t, "per_layer_s": per, "growth": per / base})
        print(f"{n:>6} {t:8.3f} {per:8.3f} {per / base:12.2f}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"kernels": rows, "stacked_layers": scaling}, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
