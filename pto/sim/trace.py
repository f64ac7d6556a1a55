"""The run reports of an a2a3sim run (DESIGN.md §7), under the artifact directory's report/run/:

    trace.json   Chrome trace JSON (opens in Perfetto / chrome://tracing). Process 1: the schedule
                 the timing model predicts (timing.py), one lane per simulated core: AIC 00..23,
                 AIV 00..47, plus the AICPU orchestrator's submits. A mixed block spans its
                 cluster's AIC and both AIVs. Process 2: the simulator's own wall-clock execution
                 (Python, one task at a time, in the order it ran them).
    deps.json    every edge of the run's task graph: runtime task ids, kernel names, and what caused
                 it: the buffers both tasks declare with at least one write (RAW / WAR / WAW; the
                 runtime declares whole buffers, so the byte region is the buffer's) and the
                 compile-time edges (facts["deps"] + memory-plan reuse) between the two kernels.
    timing.json  the prediction's summary (makespan, critical path, work / cores, utilization).

(report/deps.json is the compile-time graph between call sites; report/run/deps.json is the run's.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..ir.types import TensorType
from .timing import Prediction, predict

PREDICTED_PID, WALL_PID = 1, 2
AICPU_TID = 1000   # the orchestrator's lane, after the 72 core lanes
WALL_TID = 0


def core_lane_names(aic: int, aiv: int) -> dict[int, str]:
    """tid -> lane name: AIC i is tid i, AIV j is tid aic + j (as timing.Placement numbers cores)."""
    return {**{i: f"AIC {i:02d}" for i in range(aic)}, **{aic + j: f"AIV {j:02d}" for j in range(aiv)}}


def _meta(pid: int, tid: int, what: str, name: str, sort: int | None = None) -> list[dict]:
    out = [{"ph": "M", "pid": pid, "tid": tid, "name": what, "args": {"name": name}}]
    if sort is not None:
        out.append({"ph": "M", "pid": pid, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": sort}})
    return out


def _us(ns: float) -> float:
    return round(ns / 1e3, 6)


def predicted_events(p: Prediction) -> list[dict]:
    m = p.machine
    events = _meta(PREDICTED_PID, 0, "process_name", "a2a3 predicted schedule (timing model)")
    for tid, name in core_lane_names(m.aic_cores, m.aiv_cores).items():
        events += _meta(PREDICTED_PID, tid, "thread_name", name, tid)
    events += _meta(PREDICTED_PID, AICPU_TID, "thread_name", "AICPU orchestrator", -1)
    for pl in p.schedule.placements:
        node = p.nodes[pl.node]
        if node.kind == "none":
            continue  # dummy / alloc tasks take no core and no time
        args = {"task": node.task, "block": pl.block, "deps": [p.nodes[d].task for d in node.deps
                                                                if p.nodes[d].kind != "aicpu"]}
        if node.kind == "aicpu":
            events.append(_x(PREDICTED_PID, AICPU_TID, f"submit {node.task}", "submit", pl.start, pl.end,
                             {"task": node.task}))
            continue
        for i, core in enumerate(pl.cores):
            part = {"aic": "aic", "aiv": "aiv"}.get(node.kind) or ("aic", "aiv0", "aiv1 (cluster reserved)")[i]
            events.append(_x(PREDICTED_PID, core, node.name, node.kind, pl.start, pl.end, {**args, "part": part}))
    return events


def _x(pid: int, tid: int, name: str, cat: str, start_ns: float, end_ns: float, args: dict) -> dict:
    return {"ph": "X", "pid": pid, "tid": tid, "name": name, "cat": cat, "ts": _us(start_ns),
            "dur": _us(end_ns - start_ns), "args": args}


def wall_events(log) -> list[dict]:
    """The simulator's execution: kernel tasks at their perf_counter times, from the first start."""
    events = _meta(WALL_PID, 0, "process_name", "a2a3sim wall clock (Python)")
    events += _meta(WALL_PID, WALL_TID, "thread_name", "simulator (tasks run one at a time)", 0)
    timed = [t for t in log.tasks.values() if t.kernel is not None and t.end_ns]
    t0 = min((t.start_ns for t in timed), default=0)
    for t in sorted(timed, key=lambda t: t.start_ns):
        events.append(_x(WALL_PID, WALL_TID, t.kernel, t.core, t.start_ns - t0, t.end_ns - t0,
                         {"task": t.id, "blocks": t.blocks, "deps": list(t.deps), "submitted_at": str(t.loc)}))
    return events


def chrome_trace(sim, prediction: Prediction | None = None) -> dict:
    p = prediction or predict(sim)
    return {"traceEvents": predicted_events(p) + wall_events(sim.log), "displayTimeUnit": "ns",
            "otherData": {"entry": sim.entry.name, **{k: v for k, v in p.summary().items() if k != "notes"}}}


# --- deps.json ------------------------------------------------------------------------------------------
class BufferNames:
    """A name for each buffer address of a run: entry parameters by name, runtime allocations by
    the task that allocated them (the workspace by name)."""

    def __init__(self, sim, args: list[Any] | None):
        self.spans: list[tuple[int, int, str]] = []
        for p, a in zip(sim.entry.params, args or []):
            if isinstance(p.value.type, TensorType) and isinstance(a, np.ndarray):
                self.spans.append((a.ctypes.data, a.ctypes.data + a.nbytes, p.name))
        workspace = int(sim.entry.attrs.get("workspace", 0))
        for t in sim.outputs:
            owner = sim.log.tasks.get(t.owner_task_id)
            is_ws = owner is not None and owner.core == "alloc" and t.buffer_size == workspace
            name = "workspace" if is_ws else f"allocation of task {t.owner_task_id}"
            self.spans.append((t.buffer_addr, t.buffer_addr + t.buffer_size, name))
        plan = sim.compilation.facts.get("memplan")
        self.allocs = [] if plan is None else [(a.offset, a.offset + a.size, a.name) for a in plan.allocs]

    def name(self, lo: int, hi: int) -> str:
        for a, b, n in self.spans:
            if a <= lo and hi <= b:
                if n != "workspace":
                    return n
                # the tensors the memory plan placed at these bytes (several: a reuse)
                off, end = lo - a, hi - a
                placed = [x for x0, x1, x in self.allocs if x0 < end and off < x1]
                return f"workspace[{off}:{end}]" + (f" ({', '.join(placed)})" if placed else "")
        return f"buffer [{lo:#x}, {hi:#x})"


def _compile_time_edges(compilation) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    plan = compilation.facts.get("memplan")
    for e in list(compilation.facts.get("deps", ())) + list(getattr(plan, "reuse_edges", ())):
        src, dst = getattr(e.src.op, "kernel", e.src.name), getattr(e.dst.op, "kernel", e.dst.name)
        item = {"kind": e.kind, "tensor": e.buffer.hint, "carried": e.carried_by is not None}
        if item not in out.setdefault((src, dst), []):
            out[(src, dst)].append(item)
    return out


def _overlaps(src, dst, names: BufferNames) -> list[dict]:
    out = []
    for a_lo, a_hi, a_w in src.declared:
        for b_lo, b_hi, b_w in dst.declared:
            if a_lo < b_hi and b_lo < a_hi and (a_w or b_w):
                kind = "WAW" if a_w and b_w else ("RAW" if a_w else "WAR")
                lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
                item = {"kind": kind, "buffer": names.name(lo, hi), "bytes": hi - lo}
                if item not in out:
                    out.append(item)
    return out


def run_deps(sim, args: list[Any] | None = None) -> dict:
    names = BufferNames(sim, args)
    compile_time = _compile_time_edges(sim.compilation)
    edges = []
    for tid in sorted(sim.log.tasks):
        dst = sim.log.tasks[tid]
        for d in dst.deps:
            src = sim.log.tasks[d]
            edge = {"src": d, "dst": tid, "src_kernel": src.kernel or src.core, "dst_kernel": dst.kernel or dst.core,
                    "overlaps": _overlaps(src, dst, names)}
            if src.kernel and dst.kernel:
                edge["compile_time"] = compile_time.get((src.kernel, dst.kernel), [])
            if src.core in ("dummy", "alloc") or dst.core in ("dummy", "alloc"):
                edge["via"] = "dummy (join) task" if "dummy" in (src.core, dst.core) else "allocation task"
            edges.append(edge)
    tasks = [{"id": t.id, "kernel": t.kernel, "core": t.core, "blocks": t.blocks, "submitted_at": str(t.loc)}
             for t in (sim.log.tasks[i] for i in sorted(sim.log.tasks))]
    return {"entry": sim.entry.name, "tasks": tasks, "edges": edges,
            "orchestration_waits": [{"before_task": seq, "waits_for": list(w)} for seq, w in sim.log.waits()]}


# --- writing -------------------------------------------------------------------------------------------
def write_run_report(sim, out_dir: Path, args: list[Any] | None = None,
                     prediction: Prediction | None = None) -> dict[str, Path]:
    """Writes report/run/{trace,deps,timing}.json of the simulation's last run under `out_dir` (an
    artifact directory, pto/codegen/artifacts.py); `args` (the run's arguments) name the buffers."""
    p = prediction or predict(sim)
    run = Path(out_dir) / "report" / "run"
    run.mkdir(parents=True, exist_ok=True)
    files = {"trace": run / "trace.json", "deps": run / "deps.json", "timing": run / "timing.json"}
    files["trace"].write_text(json.dumps(chrome_trace(sim, p)) + "\n")
    files["deps"].write_text(json.dumps(run_deps(sim, args), indent=1) + "\n")
    files["timing"].write_text(json.dumps(p.summary(), indent=2) + "\n")
    return files


def simulate_case(case, options=None):
    """Compiles and runs a case once on a2a3sim (sanitizer off unless `options` says otherwise):
    (Simulation with its RunLog, the arguments it ran on)."""
    from ..passes.pipeline import compile_function
    from .a2a3sim import SimOptions, Simulation
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    args = compiled.runtime_args((), {**case.make_inputs(), **case.consts})
    args = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a for a in args]
    sim = Simulation(compile_function(compiled.function))
    sim.run(args, options or SimOptions(sanitize=False))
    return sim, args


def report_run(case, out_dir: Path, timing: bool = False) -> str:
    """What `pto run` does after an a2a3sim run: simulate the case once more (program order,
    sanitizer off) to get its RunLog, write report/run/ and describe it (with the timing model's
    prediction when `timing`)."""
    from .timing import format_prediction
    sim, args = simulate_case(case)
    p = predict(sim)
    files = write_run_report(sim, out_dir, args, p)
    text = f"{case.name}: trace {files['trace']} (Perfetto), run deps {files['deps']}"
    return text + ("\n" + format_prediction(p) if timing else "")
