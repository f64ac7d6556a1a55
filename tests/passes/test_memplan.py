"""GM memory planning: reuse, the ordering it adds, the independent checker, scope statistics."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.analysis.scope_stats import scope_stats, to_json_lines
from pto.passes.memplan import PlanError, check_plan
from pto.passes.pipeline import compile_function
from pto.sim.interpreter import run_program

KERNELS = Path(__file__).resolve().parent.parent / "kernels"


@pl.jit
def two_chains(x: pl.Tensor[[16, 64], pl.FP32], y: pl.Tensor[[16, 64], pl.FP32],
               out1: pl.Out[pl.Tensor[[16, 64], pl.FP32]], out2: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    a = pl.create_tensor([16, 64], pl.FP32)
    with pl.at(name_hint="make_a"):
        a[:, :] = pl.exp(x)
    with pl.at(name_hint="use_a"):
        out1[:, :] = pl.add(a, 1.0)
    c = pl.create_tensor([16, 64], pl.FP32)     # a is dead: c may take its bytes, once use_a is done
    with pl.at(name_hint="make_c"):
        c[:, :] = pl.exp(y)                      # ... although nothing else orders make_c after use_a
    with pl.at(name_hint="use_c"):
        out2[:, :] = pl.mul(c, 2.0)


def compiled_chains():
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((16, 64)).astype(np.float32) for _ in range(2))
    return (x, y), compile_function(two_chains.compile(x, y, np.zeros_like(x), np.zeros_like(x)).function)


def test_dead_buffers_are_reused_and_the_reuse_is_ordered():
    _, c = compiled_chains()
    plan = c.facts["memplan"]
    size = 16 * 64 * 4
    assert plan.naive == 2 * size
    assert plan.workspace == plan.lower_bound == size
    assert {a.name: a.offset for a in plan.allocs} == {"a": 0, "c": 0}
    assert {e.fact() for e in plan.reuse_edges} == {("use_a", "make_c", "REUSE", "c", False)}


def test_the_checker_rejects_overlapping_live_buffers_and_missing_order():
    _, c = compiled_chains()
    plan, nodes = c.facts["memplan"], c.facts["access"]
    check_plan(plan, nodes, c.facts["deps"] + plan.reuse_edges)
    with pytest.raises(PlanError, match="c reuses the bytes of a, but make_c is not ordered after"):
        check_plan(plan, nodes, c.facts["deps"])  # without the reuse edge
    by_name = {a.name: a for a in plan.allocs}
    by_name["c"].start = by_name["a"].end       # pretend their lifetimes touch
    with pytest.raises(PlanError, match="share bytes while both live"):
        check_plan(plan, nodes, c.facts["deps"] + plan.reuse_edges)


@pl.jit
def chain(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
    a = pl.create_tensor([16, 64], pl.FP32)
    with pl.at(name_hint="make_a"):
        a[:, :] = pl.exp(x)
    b = pl.create_tensor([16, 64], pl.FP32)
    with pl.at(name_hint="make_b"):
        b[:, :] = pl.add(a, 1.0)
    with pl.at(name_hint="finish"):
        out[:, :] = pl.sub(b, a)


def test_a_reuse_mistake_changes_the_interpreted_answer():
    x = np.random.default_rng(1).standard_normal((16, 64)).astype(np.float32)
    c = compile_function(chain.compile(x, np.zeros_like(x)).function)
    want = np.zeros_like(x)
    run_program(c.program, [x, want])
    creates = {op.results[0].hint: op for op in c.program.entry.walk() if getattr(op, "offset", None) is not None}
    creates["b"].offset = creates["a"].offset   # b overwrites a while finish still needs a
    got = np.zeros_like(x)
    run_program(c.program, [x, got])
    assert not np.array_equal(got, want)


def _sparse_attention():
    sys.path.insert(0, str(KERNELS))
    try:
        import sparse_attention as sa
    finally:
        sys.path.pop(0)
    return sa


def test_automatic_scopes_never_need_more_than_the_manual_ones():
    sa = _sparse_attention()
    plans = {}
    for case in sa.CASES:
        c = compile_function(case.kernel.compile(**case.make_inputs()).function)
        plans[case.kernel.__name__] = (c, c.facts["memplan"])
    manual, auto = plans["sparse_attn_manual"][1], plans["sparse_attn_auto"][1]
    assert auto.workspace <= manual.workspace
    assert auto.workspace == auto.lower_bound < manual.workspace
    rows = scope_stats(plans["sparse_attn_manual"][0].program.entry, manual)
    assert [r.depth for r in rows] == [0, 1, 1, 1]          # the function frame and the three phases
    assert rows[0].peak == manual.workspace
    attention = rows[2]
    assert attention.allocated == 2 * 512 + 64 * 64 * 4  # sparse_blk_mi and _li (512-byte aligned), _oi
    lines = [json.loads(line) for line in to_json_lines(rows).splitlines()]
    assert lines[2]["allocated"] == attention.allocated and set(lines[0]) == {"site", "depth", "allocated", "peak", "held"}


def _brute_ancestors(graph, y, conditional):
    """x orders before y when some path x -> ... -> y has no inner node inside a pl.if."""
    import networkx as nx
    inner_ok = graph.subgraph([n for n in graph.nodes if n not in conditional])
    out = set()
    for x in graph.nodes:
        if x == y or graph.has_edge(x, y):
            out.add(x)
            continue
        starts = [s for s in graph.successors(x) if s not in conditional]
        ends = [p for p in graph.predecessors(y) if p not in conditional]
        if any(s == e or nx.has_path(inner_ok, s, e) for s in starts for e in ends):
            out.add(x)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_reuse_orders_match_a_search_of_every_path_as_edges_are_added(seed):
    """The planner's ancestor bit sets (made once, patched per added edge) agree with a fresh
    search on random DAGs with nodes inside a pl.if, before and after each added edge."""
    import networkx as nx
    from pto.passes.memplan import _Orders

    rng = np.random.default_rng(seed)
    n = 24
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.12)
    conditional = {i for i in range(n) if rng.random() < 0.25}
    orders = _Orders(graph.copy(), conditional)
    for _ in range(8):
        for y in range(n):
            want = _brute_ancestors(graph, y, conditional)
            assert {x for x in range(n) if orders.ordered(x, y)} == want
        x, y = sorted(rng.choice(n, 2, replace=False))
        graph.add_edge(int(x), int(y))
        orders.add_edge(int(x), int(y))


def test_the_lower_bound_is_the_most_bytes_live_at_once():
    from pto.passes.memplan import Alloc, _most_live_bytes

    rng = np.random.default_rng(3)
    allocs = []
    for i in range(40):
        start = int(rng.integers(0, 50))
        allocs.append(Alloc(buffer=None, op=None, size=int(rng.integers(1, 100)), start=start,
                            end=start + int(rng.integers(0, 10)), loops=()))
    brute = max(sum(a.size for a in allocs if a.live_at(t)) for t in range(70))
    assert _most_live_bytes(allocs) == brute
