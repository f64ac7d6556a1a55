"""Shared helpers of the regression programs (tests/regressions/README.md).

Nothing here knows a test's answer: goldens are computed by each test in plain numpy, and the
compile facts come straight from the pass pipeline (`pto.passes.pipeline.compile_function`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pto.errors import PtoError
from pto.passes.pipeline import Compilation, compile_function
from pto.sim.interpreter import run_program

MARKER = "# ERROR-LINE"


# --- inputs and goldens ------------------------------------------------------------------------------
def ints(shape, seed: int = 0, lo: int = -3, hi: int = 4, dtype=np.float32) -> np.ndarray:
    """Small integers stored as `dtype`: sums and products of a few of them are exact in FP32, so a
    golden computed in any order is bitwise the answer."""
    return np.random.default_rng(seed).integers(lo, hi, size=shape).astype(dtype)


def normal(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def exp32(x: np.ndarray) -> np.ndarray:
    """exp of FP32 values rounded once to FP32 (DESIGN.md numerics: transcendentals in FP64)."""
    return np.exp(np.asarray(x, np.float64)).astype(np.float32)


def assert_bitwise(got: np.ndarray, want: np.ndarray) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    if got.tobytes() != want.tobytes():
        bad = np.argwhere(got != want)
        pos = tuple(bad[0]) if len(bad) else "?"
        raise AssertionError(f"{len(bad)} elements differ; first at {pos}: got {got[pos] if len(bad) else '?'}, "
                             f"want {want[pos] if len(bad) else '?'}")


# --- compile facts ------------------------------------------------------------------------------------
def compiled(kernel, *args) -> Compilation:
    """The kernel traced for `args` and run through the whole pass pipeline."""
    return compile_function(kernel.compile(*args).function)


def edges(kernel, *args) -> set[tuple]:
    """The dependency graph as `Edge.fact()` tuples: (src, dst, kind, buffer, loop-carried)."""
    return {e.fact() for e in compiled(kernel, *args).facts["deps"]}


def facts_of(c: Compilation) -> set[tuple]:
    return {e.fact() for e in c.facts["deps"]}


def reuse_facts(c: Compilation) -> set[tuple]:
    return {e.fact() for e in c.facts["memplan"].reuse_edges}


def allocs(c: Compilation) -> dict:
    """Buffer name -> its `Alloc` in the GM plan (names are the Python variables of create_tensor)."""
    return {a.name: a for a in c.facts["memplan"].allocs}


def share_bytes(a, b) -> bool:
    return a.offset < b.offset + b.size and b.offset < a.offset + a.size


def run_compiled(kernel, *args) -> list[np.ndarray]:
    """Run the *compiled* program (after every pass, on the planned workspace) on copies of args;
    returns the arrays of all tensor arguments afterwards (Out/InOut written in place)."""
    c = compiled(kernel, *args)
    runtime = kernel.compile(*args).runtime_args(args, {})
    copies = [np.array(a) if isinstance(a, np.ndarray) else a for a in runtime]
    run_program(c.program, copies)
    return [a for a in copies if isinstance(a, np.ndarray)]


def scalar_node(kind: str, tag: str, path: str) -> str:
    """The dependency-graph name of an orchestration `pl.read`/`pl.write`: `read@<line>`, the line
    being the one marked `# NODE <tag>` in the test file `path`."""
    return f"{kind}@{marked_line(tag, path, marker='# NODE')}"


# --- user-facing errors -------------------------------------------------------------------------------
def marked_line(tag: str, path: str, marker: str = MARKER) -> int:
    """The 1-based line of the file `path` that ends in `<marker> <tag>` (there must be exactly one)."""
    want = f"{marker} {tag}"
    lines = [i for i, text in enumerate(Path(path).read_text().splitlines(), 1)
             if text.rstrip().endswith(want)]
    assert len(lines) == 1, f"{path}: expected exactly one line ending in {want!r}, found {lines}"
    return lines[0]


def assert_error_at(excinfo: pytest.ExceptionInfo, cls: type, tag: str, path: str, *fragments: str) -> None:
    """The error is a `cls` (a PtoError) whose message starts with `<path>:<line>:`, the line being the
    one marked `# ERROR-LINE <tag>` in `path`, and which contains every fragment."""
    exc = excinfo.value
    assert isinstance(exc, PtoError), f"expected a PtoError, got {type(exc).__name__}: {exc}"
    assert isinstance(exc, cls), f"expected {cls.__name__}, got {type(exc).__name__}: {exc}"
    text = str(exc)
    assert exc.loc is not None, f"the error names no location: {text!r}"
    assert text.startswith(f"{exc.loc.file}:{exc.loc.line}:"), f"the message does not start with file:line: {text!r}"
    assert os.path.exists(exc.loc.file) and os.path.samefile(exc.loc.file, path), \
        f"the error names {exc.loc.file!r}, expected the kernel file {path}: {text!r}"
    want = marked_line(tag, path)
    assert exc.loc.line == want, f"the error names line {exc.loc.line}, expected {want} ({MARKER} {tag}): {text!r}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in the message {text!r}"


# --- independent, instance-level checks of the dependency graph ------------------------------------
def task_instances(c: Compilation) -> list[tuple]:
    """The orchestration's task and scalar-access nodes as instances in program order:
    (node, {loop op: index}); loop bounds must be affine in the indices of enclosing loops; both arms
    of a branch are included."""
    from pto.analysis.affine import affine
    from pto.ir import ops as irops

    by_op = {id(n.op): n for n in c.facts["access"]}
    out: list[tuple] = []

    def bound(x, iv: dict) -> int:
        v = _affine_value(affine(x), iv)
        assert v is not None, "loop bounds must be static or affine in enclosing loop indices"
        return v

    def walk(region, iv: dict) -> None:
        for op in region.ops:
            if id(op) in by_op:
                out.append((by_op[id(op)], dict(iv)))
            if isinstance(op, irops.ForLoop):
                for t in range(bound(op.start, iv), bound(op.stop, iv), bound(op.step, iv)):
                    walk(op.regions[0], {**iv, op: t})
            else:
                for r in op.regions:
                    walk(r, iv)

    walk(c.program.entry.body, {})
    return out


def _affine_value(a, iv: dict) -> int | None:
    """An affine form evaluated at loop indices ({loop op: index}); None if it has another atom."""
    total = a.const
    for atom, coeff in a.terms:
        hit = next((t for lp, t in iv.items() if lp.regions[0].args[0] is atom), None)
        if hit is None:
            return None
        total += coeff * hit
    return total


def instance_reach(instances: list[tuple], edges) -> dict[int, set[int]]:
    """Instantiate edges by the meaning the deps pass gives them - no `carried_by`: the same
    iteration of every common loop, u before v; carried by loop L: a later iteration of L within the
    same iteration of the loops around L, any iterations of the loops inside it - and return, per
    instance, the instances reachable from it."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(instances)))
    by_node: dict[int, list[int]] = {}
    for k, (n, _) in enumerate(instances):
        by_node.setdefault(id(n), []).append(k)
    for e in edges:
        common = [lp for lp, lq in zip(e.src.loops, e.dst.loops) if lp is lq]
        for u in by_node.get(id(e.src), ()):
            for v in by_node.get(id(e.dst), ()):
                iu, iv = instances[u][1], instances[v][1]
                if e.carried_by is None:
                    ok = u < v and all(iu[lp] == iv[lp] for lp in common)
                else:
                    depth = common.index(e.carried_by)
                    ok = (all(iu[lp] == iv[lp] for lp in common[:depth])
                          and iv[e.carried_by] > iu[e.carried_by])
                if ok:
                    graph.add_edge(u, v)
    return {k: nx.descendants(graph, k) for k in graph.nodes}


def _label(instances, k) -> tuple:
    return instances[k][0].name, tuple(instances[k][1].values())


def unordered_reuses(c: Compilation) -> list[tuple]:
    """Every pair of task instances (u first in program order) that touch two buffers sharing bytes
    in the GM plan but have no path u -> v in the instantiated facts["deps"] + REUSE edges: a
    schedule could run them in either order. This is what a2a3sim's sanitizer will check at run
    time (DESIGN.md §7: access to memory released or reused). Each result is
    (earlier buffer, later buffer, u, v) with u, v = (node name, iteration vector)."""
    plan = c.facts["memplan"]
    instances = task_instances(c)
    reach = instance_reach(instances, list(c.facts["deps"]) + list(plan.reuse_edges))
    touching = {a.name: [k for k, (n, _) in enumerate(instances)
                         if any(a.buffer in acc.buffers for acc in n.accesses)] for a in plan.allocs}
    out = []
    for x in plan.allocs:
        for y in plan.allocs:
            if x is y or not share_bytes(x, y):
                continue
            for u in touching[x.name]:
                for v in touching[y.name]:
                    if u < v and v not in reach[u]:
                        out.append((x.name, y.name, _label(instances, u), _label(instances, v)))
    return out


def unordered_conflicts(c: Compilation) -> list[tuple]:
    """Every pair of node instances (u first in program order) whose accesses to one buffer may
    overlap - boxes evaluated at the instances' loop indices; a data-dependent or whole-buffer box
    overlaps everything - with at least one a write, but which have no path u -> v in the
    instantiated facts["deps"]: a missing RAW/WAR/WAW edge (the sanitizer's other finding).
    Each result is (buffer, kind, u, v)."""
    instances = task_instances(c)
    reach = instance_reach(instances, c.facts["deps"])

    value = _affine_value

    def overlap(x, y, ivx, ivy) -> bool:
        if x.box is None or y.box is None:
            return True
        for sx, sy in zip(x.box, y.box):
            if sx is None or sy is None:
                continue
            bounds = [value(sx.lo, ivx), value(sx.hi, ivx), value(sy.lo, ivy), value(sy.hi, ivy)]
            if None in bounds:
                continue
            if bounds[1] <= bounds[2] or bounds[3] <= bounds[0]:
                return False
        return True

    out = []
    for u, (nu, ivu) in enumerate(instances):
        for v in range(u + 1, len(instances)):
            nv, ivv = instances[v]
            if v in reach[u]:
                continue
            for x in nu.accesses:
                for y in nv.accesses:
                    if x.mode == "read" and y.mode == "read":
                        continue
                    for buf in x.buffers & y.buffers:
                        if overlap(x, y, ivu, ivv):
                            kind = {("write", "read"): "RAW", ("read", "write"): "WAR"}.get((x.mode, y.mode), "WAW")
                            out.append((buf.hint, kind, _label(instances, u), _label(instances, v)))
    return sorted(set(out))
