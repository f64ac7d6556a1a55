"""The timing model (pto/sim/timing.py): list scheduling on small graphs against hand-computed
schedules, per-kernel work counted from the IR against hand counts, trip counts (static, bounded,
unbounded), and on real runs the makespan never below the critical path or the work per core."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.passes.pipeline import compile_function
from pto.sim.timing import A2A3, CostModel, Machine, Node, critical_path, list_schedule, predict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from case_files import ROOT  # noqa: E402

from pto.cli import load_cases  # noqa: E402


def aiv(durations, deps=(), key="n"):
    return Node(key, "aiv", list(durations), list(deps))


# --- list scheduling on synthetic graphs --------------------------------------------------------
def test_chain_runs_back_to_back():
    nodes = [aiv([10]), aiv([20], [0]), aiv([30], [1])]
    s = list_schedule(nodes)
    assert s.makespan == 60 == critical_path(nodes)
    assert [(p.start, p.end) for p in sorted(s.placements, key=lambda p: p.node)] == [(0, 10), (10, 30), (30, 60)]


def test_fan_out_wider_than_the_cores_runs_in_waves():
    # a 5 ns root, then 100 independent 10 ns tasks on 48 AIV cores: ceil(100 / 48) = 3 waves
    nodes = [aiv([5])] + [aiv([10], [0]) for _ in range(100)]
    s = list_schedule(nodes)
    assert s.makespan == 5 + 3 * 10
    assert critical_path(nodes) == 15
    # the same as one SPMD task of 100 blocks
    assert list_schedule([aiv([5]), aiv([10] * 100, [0])]).makespan == 35
    # at most 48 blocks run at once, each core busy by one block at a time
    assert max(sum(p.start <= t < p.end for p in s.placements) for t in (5, 15, 25)) == 48


def test_a_mixed_block_holds_a_whole_cluster():
    # 2 clusters (2 AIC + 4 AIV): 3 mixed blocks and a 1-block AIV task, all 10 ns, all ready at 0.
    # Mixed goes first and takes both clusters (every AIV is reserved), so the AIV task waits until
    # 10; then the third mixed block takes cluster 0 and the AIV task an AIV of cluster 1.
    nodes = [Node("m", "mixed", [10, 10, 10], []), aiv([10])]
    s = list_schedule(nodes, n_aic=2, n_aiv=4)
    assert s.makespan == 20
    mixed = sorted((p.start, p.cores) for p in s.placements if p.node == 0)
    assert mixed == [(0, (0, 2, 3)), (0, (1, 4, 5)), (10, (0, 2, 3))]
    (single,) = [p for p in s.placements if p.node == 1]
    assert single.start == 10 and single.cores[0] in (4, 5)


def test_aic_and_aiv_tasks_share_no_cores():
    # 24 AIC blocks and 48 AIV blocks fit side by side: one wave
    s = list_schedule([Node("c", "aic", [10] * 24, []), aiv([10] * 48)])
    assert s.makespan == 10
    assert len({p.cores for p in s.placements}) == 72


def test_the_longest_remaining_path_goes_first():
    # one AIV core; X (10) -> Y (50) and Z (10) are ready together: X first (bottom level 60)
    nodes = [aiv([10]), aiv([10]), aiv([50], [0])]
    s = list_schedule(nodes, n_aiv=1)
    start = {p.node: p.start for p in s.placements}
    assert start == {0: 0, 2: 10, 1: 60} and s.makespan == 70


def test_nodes_without_a_core_take_no_core_and_join():
    # a dummy join (no core, no time) after two parallel tasks, then a consumer
    nodes = [aiv([10]), aiv([30]), Node("join", "none", [0.0], [0, 1]), aiv([5], [2])]
    s = list_schedule(nodes)
    assert s.ends[2] == 30 and s.makespan == 35


def test_a_cycle_is_an_error():
    with pytest.raises(ValueError, match="cycle"):
        list_schedule([aiv([1], [1]), aiv([1], [0])])


# --- work counted from the kernel IR --------------------------------------------------------------
@pl.jit
def rows_upto(x: pl.Tensor[[8, 64], pl.FP32], cnt: pl.Tensor[[1, 8], pl.INT32],
              out: pl.Out[pl.Tensor[[8, 64], pl.FP32]]):
    with pl.at(name_hint="bounded"):
        n = pl.read(cnt, [0, 0])
        for i in pl.range(pl.minimum(n, 4)):
            out[i : i + 1, :] = pl.exp(x[i : i + 1, :])
    with pl.at(name_hint="unbounded"):
        n = pl.read(cnt, [0, 1])
        for i in pl.range(n):
            out[i + 4 : i + 5, :] = pl.add(x[i : i + 1, :], x[i : i + 1, :])


def _costs(kernel, *args, machine=A2A3):
    return CostModel(compile_function(kernel.compile(*args).function).program, machine)


def test_runtime_trip_counts_are_bounded_or_flagged():
    x, cnt, out = np.ones((8, 64), np.float32), np.zeros((1, 8), np.int32), np.zeros((8, 64), np.float32)
    costs = _costs(rows_upto, x, cnt, out)
    bounded = costs.block("bounded", 0)
    # 4 iterations (the bound of min(n, 4)), each: exp of 64 FP32 (16 issue + 256 B / 256 B x 4
    # transcendental = 20 cycles), a 256 B GM read and a 256 B GM write; one scalar GM read
    assert (bounded.work.vector_cycles, bounded.work.gm_bytes, bounded.work.gm_scalar) == (80, 2048, 1)
    assert any("bounded by 4" in n for n in bounded.notes)
    unbounded = costs.block("unbounded", 0)
    # 1 iteration assumed: an add reading one 256 B row once (the two operands are one view)
    assert (unbounded.work.vector_cycles, unbounded.work.gm_bytes) == (17, 512)
    assert any("no static bound; 1 assumed" in n for n in unbounded.notes)
    m = A2A3
    expected = m.launch_ns + max((80 + 1) / m.clock_ghz + m.gm_scalar_latency_ns, 2048 / m.gm_bytes_per_ns)
    assert bounded.ns == pytest.approx(expected)


def test_matmul_flops_count_the_static_loop():
    case = load_cases(str(ROOT / "examples/matmul.py"), None)[0]
    c = compile_function(case.kernel.compile(**case.make_inputs(), **case.consts).function)
    costs = CostModel(c.program)
    (name,) = costs.functions
    w = costs.block(name, 0).work
    # one [32, 64] x [64, 32] product before the loop and 3 in it (range(1, 4)): 4 x 2*32*32*64
    assert w.flops == 4 * 2 * 32 * 32 * 64
    assert w.cube_cycles == w.flops / 8192  # BF16 operands
    # reads 4 x (32x64 + 64x32) BF16, writes one 32x32 FP32 tile
    assert w.gm_bytes == 4 * 2 * (32 * 64 * 2) + 32 * 32 * 4
    assert not costs.block(name, 3).notes


def test_the_constants_change_the_prediction():
    """Halving the bandwidth of a memory-bound kernel moves its cost by its GM time."""
    x, cnt, out = np.ones((8, 64), np.float32), np.zeros((1, 8), np.int32), np.zeros((8, 64), np.float32)
    slow = Machine(gm_bytes_per_ns=A2A3.gm_bytes_per_ns / 100)
    fast_ns = _costs(rows_upto, x, cnt, out).block("bounded", 0).ns
    slow_ns = _costs(rows_upto, x, cnt, out, machine=slow).block("bounded", 0).ns
    assert slow_ns == pytest.approx(slow.launch_ns + 2048 / slow.gm_bytes_per_ns) and slow_ns > fast_ns


# --- real runs ---------------------------------------------------------------------------------------
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")
REAL = [("examples/softmax.py", "softmax_64x128"), ("examples/flash_merge.py", "flash_merge"),
        ("tests/kernels/sparse_attention.py", "sparse_attn_auto_scopes"),
        ("tests/kernels/moe_dispatch.py", "option2_packed_seed")]


@needs_gxx
@pytest.mark.parametrize("path, name", REAL)
def test_makespan_is_bounded_below_by_the_critical_path_and_the_work(path, name):
    from pto.sim.trace import simulate_case
    (case,) = load_cases(str(ROOT / path), name)
    sim, _ = simulate_case(case)
    p = predict(sim)
    assert p.kernel_tasks == sum(t.core in ("aic", "aiv", "mixed") for t in sim.log.tasks.values()) > 0
    assert p.makespan >= p.critical_path - 1e-6
    assert p.makespan >= p.work_bound - 1e-6
    assert p.makespan >= p.submit_total
    # every block of every kernel task is placed exactly once, after everything it depends on
    ends = p.schedule.ends
    for pl_ in p.schedule.placements:
        assert all(ends[d] <= pl_.start + 1e-9 for d in p.nodes[pl_.node].deps)
    placed = {(x.node, x.block) for x in p.schedule.placements}
    assert placed == {(i, b) for i, n in enumerate(p.nodes) for b in range(len(n.durations))}
    assert 0 < p.utilization()["aiv"] <= 1
