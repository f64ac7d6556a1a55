"""The run reports (pto/sim/trace.py): the softmax example's Chrome trace is valid JSON of the
trace-event schema with 72 named core lanes and every kernel task in both the predicted schedule
and the wall-clock process; deps.json carries every edge of the run with the tensors behind it;
`pto run -p a2a3sim --timing` writes them and prints the prediction."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from pto.cli import load_cases, main
from pto.sim.trace import PREDICTED_PID, WALL_PID, chrome_trace, run_deps, simulate_case, write_run_report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from case_files import ROOT  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")


def _case(path: str, name: str | None = None):
    return load_cases(str(ROOT / path), name)[0]


@pytest.fixture(scope="module")
def softmax_trace(tmp_path_factory):
    sim, args = simulate_case(_case("examples/softmax.py"))
    files = write_run_report(sim, tmp_path_factory.mktemp("artifacts"), args)
    return sim, json.loads(files["trace"].read_text())


def test_trace_events_have_the_chrome_schema(softmax_trace):
    _, trace = softmax_trace
    events = trace["traceEvents"]
    assert events and {e["ph"] for e in events} <= {"X", "M"}
    for e in events:
        if e["ph"] == "X":
            assert {"ph", "ts", "dur", "pid", "tid", "name"} <= e.keys(), e
            assert isinstance(e["ts"], (int, float)) and isinstance(e["dur"], (int, float)) and e["dur"] >= 0
            assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and isinstance(e["name"], str)
        else:
            assert {"ph", "pid", "tid", "name", "args"} <= e.keys(), e


def _lanes(events, pid):
    return {e["tid"]: e["args"]["name"] for e in events
            if e["ph"] == "M" and e["name"] == "thread_name" and e["pid"] == pid}


def test_seventy_two_named_core_lanes(softmax_trace):
    _, trace = softmax_trace
    events = trace["traceEvents"]
    lanes = _lanes(events, PREDICTED_PID)
    cores = {tid: n for tid, n in lanes.items() if n.startswith(("AIC ", "AIV "))}
    assert len(cores) == 72
    assert sum(n.startswith("AIC ") for n in cores.values()) == 24
    assert sum(n.startswith("AIV ") for n in cores.values()) == 48
    # every event of the trace sits on a named lane of a named process
    processes = {e["pid"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    assert processes == {PREDICTED_PID, WALL_PID}
    named = {(pid, tid) for pid in processes for tid in _lanes(events, pid)}
    assert all((e["pid"], e["tid"]) in named for e in events if e["ph"] == "X")


def test_every_kernel_task_is_in_both_processes(softmax_trace):
    sim, trace = softmax_trace
    events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    kernel_tasks = {t.id: t for t in sim.log.tasks.values() if t.kernel is not None}
    assert kernel_tasks
    predicted = [e for e in events if e["pid"] == PREDICTED_PID and e.get("cat") != "submit"]
    wall = [e for e in events if e["pid"] == WALL_PID]
    assert {e["args"]["task"] for e in predicted} == set(kernel_tasks)
    assert {e["args"]["task"] for e in wall} == set(kernel_tasks)
    lanes = _lanes(trace["traceEvents"], PREDICTED_PID)
    for tid, t in kernel_tasks.items():
        blocks = [e for e in predicted if e["args"]["task"] == tid]
        # softmax is one AIV task of 4 SPMD blocks: one event per block, each on its own AIV lane
        assert sorted(e["args"]["block"] for e in blocks) == list(range(t.blocks))
        assert all(lanes[e["tid"]].startswith("AIV ") and e["name"] == t.kernel for e in blocks)
        assert len({e["tid"] for e in blocks}) == t.blocks


def test_a_mixed_task_spans_its_cluster():
    sim, _ = simulate_case(_case("examples/flash_merge.py"))
    events = [e for e in chrome_trace(sim)["traceEvents"] if e["ph"] == "X" and e["pid"] == PREDICTED_PID
              and e.get("cat") == "mixed"]
    assert len(events) == 3  # one block: AIC c, AIV 2c, AIV 2c + 1 over the same interval
    aic = [e["tid"] for e in events if e["tid"] < 24]
    assert len(aic) == 1 and sorted(e["tid"] for e in events)[1:] == [24 + 2 * aic[0], 24 + 2 * aic[0] + 1]
    assert len({(e["ts"], e["dur"]) for e in events}) == 1


def test_deps_json_names_every_edge_and_its_tensors():
    sim, args = simulate_case(_case("tests/kernels/sparse_attention.py", "sparse_attn_auto_scopes"))
    deps = json.loads(json.dumps(run_deps(sim, args)))
    expected = {(d, t.id) for t in sim.log.tasks.values() for d in t.deps}
    assert {(e["src"], e["dst"]) for e in deps["edges"]} == expected and expected
    for e in deps["edges"]:
        assert e["src_kernel"] == (sim.log.tasks[e["src"]].kernel or sim.log.tasks[e["src"]].core)
        if "compile_time" in e and e["compile_time"]:
            # the regions that overlap at run time are the tensors the compile-time edges name
            tensors = {c["tensor"] for c in e["compile_time"]}
            assert any(any(t in o["buffer"] for t in tensors) for o in e["overlaps"]), e
    kv_to_attn = next(e for e in deps["edges"] if (e["src_kernel"], e["dst_kernel"]) == ("kv_gather", "qk_pv"))
    assert {"kind": "RAW", "tensor": "sparse_kv", "carried": False} in kv_to_attn["compile_time"]
    assert any(o["kind"] == "RAW" and "sparse_kv" in o["buffer"] for o in kv_to_attn["overlaps"])


def test_pto_run_timing_writes_the_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(ROOT / "examples/softmax.py"), "-p", "a2a3sim", "--timing"]) == 0
    out = capsys.readouterr().out
    assert "predicted makespan" in out and "critical path" in out and "utilization" in out
    (run_dir,) = (tmp_path / "build").glob("softmax-*/report/run")
    assert {p.name for p in run_dir.iterdir()} == {"trace.json", "deps.json", "timing.json"}
    timing = json.loads((run_dir / "timing.json").read_text())
    assert timing["makespan_us"] >= timing["critical_path_us"] > 0
