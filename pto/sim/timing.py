"""The a2a3 timing model (DESIGN.md §7): what a run would take on the device, predicted from the
kernels' IR and the task graph one a2a3sim run submitted.

Per task block, the cost is `launch + max(compute, GM traffic / bandwidth)` (the load, compute and
store pipes are assumed to overlap, as double-buffered kernels do; a single-tile kernel that cannot
overlap is under-estimated by up to 2x). Compute is cube FLOPs at the cube rate plus vector
element-ops at the vector rate plus scalar ops; GM traffic is every byte a kernel moves between GM
and the core (loads, stores, gathers, scatters, scalar reads and writes, and the tiles a split
mixed kernel's parts hand each other, which go through GM on a2a3).

Loop trip counts are evaluated by interval arithmetic over the kernel's index scalars, with the
block index exact per block: a static count is exact; a count depending on runtime values is
replaced by its upper bound where one exists (`pl.minimum(n, 8)`), else by one iteration; a branch
on a runtime value costs the larger branch. Each such estimate is listed in `KernelCost.notes`.

The graph: every runtime task of the RunLog, with its explicit dependencies; the orchestration on
the AICPU submits tasks one after the other (a chain of submit nodes) and stops at each element
access (`RunLog.waits`) until the tasks it waits for finish. It is list-scheduled (highest bottom
level first, program order on ties; mixed before single-core, as the runtime's ready queues) onto
24 AIC + 48 AIV cores in 24 clusters of 1 AIC + 2 AIV; a mixed block occupies one whole cluster.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from ..analysis.memory import memory_values
from ..ir import ops
from ..ir.core import Function, Op, Program, Region, Value
from ..ir.types import ScalarType, TensorType

AIC_CORES, AIV_CORES = 24, 48


@dataclass(frozen=True)
class Machine:
    """Every constant of the model, in one table. "ref" = /work/shared/reference; the rest are
    stated assumptions about the Ascend 910B (a2a3) that the reference notes do not give."""

    aic_cores: int = AIC_CORES          # ref simpler.md §3.1: 24 clusters of 1 AIC + 2 AIV per die
    aiv_cores: int = AIV_CORES
    clock_ghz: float = 1.8              # assumption: AI core clock
    # Cube: one 16x16x16 fractal MAC per cycle for 16-bit operands (2*16^3 FLOP), twice that for
    # INT8, a quarter for FP32 operands. Assumption (public 910B figures: ~350 TFLOPS BF16 / 24 AIC).
    cube_flop_per_cycle: tuple[tuple[str, int], ...] = (("bf16", 8192), ("fp16", 8192), ("int8", 16384),
                                                        ("fp32", 2048))
    vector_bytes_per_cycle: int = 256   # assumption: one 256-byte vector repeat per cycle per AIV
    vector_issue_cycles: int = 16       # assumption: fixed cost of issuing one vector instruction
    transcendental_factor: int = 4      # assumption: exp/log/sqrt/rsqrt/recip/sigmoid/div cost 4x
    scalar_op_cycles: int = 1           # assumption: one scalar-unit op per cycle
    gm_bytes_per_ns: float = 1600 / 24  # assumption: ~1.6 TB/s HBM shared by 24 busy clusters
    gm_scalar_latency_ns: float = 500.0  # assumption: a dependent scalar GM read/write round trip
    launch_ns: float = 1000.0           # ref simpler.md: ~0.8 us AICore inter-task switch + ~0.14 us
                                        # AICPU->AICore dispatch, per block (each block is one dispatch)
    submit_ns: float = 874.0            # ref simpler.md: 0.874 us average orchestrator submit_task

    def cube_rate(self, dtype: str) -> int:
        return dict(self.cube_flop_per_cycle).get(dtype, dict(self.cube_flop_per_cycle)["fp32"])


A2A3 = Machine()

TRANSCENDENTAL = (ops.Exp, ops.Log, ops.Sqrt, ops.Rsqrt, ops.Recip, ops.Sigmoid, ops.Div, ops.Floordiv,
                  ops.Mod, ops.RowExpandDiv, ops.ColExpandDiv)
NO_WORK = (ops.Slice, ops.Reshape, ops.Yield, ops.Return, ops.Const)


# --- kernel cost -------------------------------------------------------------------------------------
@dataclass
class Work:
    """What one block of one kernel (part) does."""

    cube_cycles: float = 0.0
    vector_cycles: float = 0.0
    scalar_ops: float = 0.0
    gm_bytes: float = 0.0
    gm_scalar: float = 0.0      # scalar GM accesses (each a round trip)
    flops: float = 0.0

    def add(self, o: "Work", times: float = 1.0) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + times * getattr(o, k))

    def maximum(self, o: "Work") -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, max(getattr(self, k), getattr(o, k)))

    def ns(self, m: Machine) -> float:
        compute = (self.cube_cycles + self.vector_cycles + self.scalar_ops * m.scalar_op_cycles) / m.clock_ghz \
            + self.gm_scalar * m.gm_scalar_latency_ns
        return max(compute, self.gm_bytes / m.gm_bytes_per_ns)


@dataclass
class KernelCost:
    work: Work
    ns: float                 # one block, launch included
    notes: list[str] = field(default_factory=list)
    parts_ns: tuple[float, ...] = ()  # each part's own time (a mixed kernel: AIC part, AIV part)


INF = math.inf


def _interval(env: dict[Value, tuple[float, float]], x) -> tuple[float, float]:
    if isinstance(x, int):
        return (x, x)
    return env.get(x, (-INF, INF))


def _mul(a, b):
    products = [p for p in (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]) if not math.isnan(p)]
    return (min(products), max(products)) if products else (-INF, INF)


def _scalar_interval(op: Op, env) -> tuple[float, float]:
    """The range of an index/integer scalar op's result; (-inf, inf) when unknown."""
    if isinstance(op, ops.Const):
        return (op.value, op.value)
    operands = [_interval(env, v) for v in op.operands()]
    if isinstance(op, (ops.Eq, ops.Ne, ops.Lt, ops.Le, ops.Gt, ops.Ge)):
        a, b = operands
        if a[0] == a[1] and b[0] == b[1]:
            return (1, 1) if _compare(op, a[0], b[0]) else (0, 0)
        return (0, 1)
    if isinstance(op, ops.Cast) and not op.dtype.is_float:
        return operands[0]
    if len(operands) != 2:
        return (-INF, INF)
    a, b = operands
    if isinstance(op, ops.Add):
        return (a[0] + b[0], a[1] + b[1])
    if isinstance(op, ops.Sub):
        return (a[0] - b[1], a[1] - b[0])
    if isinstance(op, ops.Mul):
        return _mul(a, b)
    if isinstance(op, ops.Minimum):
        return (min(a[0], b[0]), min(a[1], b[1]))
    if isinstance(op, ops.Maximum):
        return (max(a[0], b[0]), max(a[1], b[1]))
    if isinstance(op, ops.Floordiv) and b[0] == b[1] and b[0] > 0:
        return (a[0] // b[0] if a[0] > -INF else -INF, a[1] // b[0] if a[1] < INF else INF)
    if isinstance(op, ops.Mod) and b[0] == b[1] and b[0] > 0:
        return (a[0] % b[0], a[0] % b[0]) if a[0] == a[1] else (0, b[0] - 1)
    return (-INF, INF)


def _compare(op: Op, a, b) -> bool:
    return {ops.Eq: a == b, ops.Ne: a != b, ops.Lt: a < b, ops.Le: a <= b, ops.Gt: a > b, ops.Ge: a >= b}[type(op)]


def _elements(t) -> int:
    return math.prod(t.shape) if isinstance(t, TensorType) else 1


def _trip_count(op: ops.ForLoop, env) -> tuple[float, str | None]:
    """(iterations, a note when the count is not static)."""
    start, stop, step = (_interval(env, x) for x in (op.start, op.stop, op.step))
    if all(a == b for a, b in (start, stop, step)):
        return max(0, math.ceil((stop[0] - start[0]) / step[0])), None
    if step[0] == step[1] and step[0] > 0 and start[0] > -INF and stop[1] < INF:
        n = max(0, math.ceil((stop[1] - start[0]) / step[0]))
        return n, f"loop at {op.loc}: trip count depends on runtime values; bounded by {n}"
    return 1, f"loop at {op.loc}: trip count depends on runtime values and has no static bound; 1 assumed"


class KernelWalker:
    """Counts the work of one block of one kernel function."""

    def __init__(self, f: Function, machine: Machine):
        self.f, self.m = f, machine
        self.gm = memory_values(f)
        self.notes: list[str] = []
        # GM views already read by the enclosing region walks: a tile is loaded once per walk of
        # the region that reads it first (a view read again, or inside a nested loop, is not reloaded)
        self.loaded: list[set[Value]] = []

    def block(self, blk: int) -> Work:
        env: dict[Value, tuple[float, float]] = {}
        for p in self.f.params:
            if p.direction == "block":
                env[p.value] = (blk, blk)
        return self.region(self.f.body, env)

    def region(self, r: Region, env) -> Work:
        w = Work()
        self.loaded.append(set())
        for op in r.ops:
            self.op(op, env, w)
        self.loaded.pop()
        return w

    def op(self, op: Op, env, w: Work) -> None:
        if isinstance(op, ops.ForLoop):
            n, note = _trip_count(op, env)
            if note and note not in self.notes:
                self.notes.append(note)
            body = op.regions[0]
            start, stop = _interval(env, op.start), _interval(env, op.stop)
            env[body.args[0]] = (start[0], stop[1] - 1) if n != 1 or note else (start[0], start[0])
            w.add(self.region(body, env), n)
        elif isinstance(op, ops.If):
            cond = _interval(env, op.cond)
            if cond[0] == cond[1]:
                w.add(self.region(op.regions[0 if cond[0] else 1], env))
            else:
                note = f"branch at {op.loc} on a runtime value: the larger branch counted"
                if note not in self.notes:
                    self.notes.append(note)
                then, other = (self.region(r, env) for r in op.regions)
                then.maximum(other)
                w.add(then)
        elif op.regions:
            w.add(self.region(op.regions[0], env))
        elif op.results and all(isinstance(v.type, ScalarType) for v in op.results):
            self.scalar(op, env, w)
        elif not isinstance(op, NO_WORK):
            self.tensor(op, w)

    def scalar(self, op: Op, env, w: Work) -> None:
        if isinstance(op, ops.TPop):
            w.gm_scalar += 1
        elif isinstance(op, ops.Read):
            w.gm_scalar += op.src in self.gm
        elif not isinstance(op, ops.Const):
            w.scalar_ops += 1
        if op.results[0].type.dtype.is_int or op.results[0].type.dtype.kind == "bool":
            env[op.results[0]] = _scalar_interval(op, env)

    def gm_read(self, v: Value, w: Work) -> None:
        if isinstance(v.type, TensorType) and v in self.gm and not any(v in s for s in self.loaded):
            self.loaded[-1].add(v)
            w.gm_bytes += v.type.nbytes

    def vector(self, w: Work, t: TensorType, factor: int = 1) -> None:
        w.vector_cycles += self.m.vector_issue_cycles + \
            _elements(t) * t.dtype.nbytes / self.m.vector_bytes_per_cycle * factor

    def tensor(self, op: Op, w: Work) -> None:
        m = self.m
        if isinstance(op, (ops.Matmul, ops.MatmulAcc)):
            (rows, cols), k = op.results[0].type.shape, _inner(op)
            flops = 2 * rows * cols * k
            w.flops += flops
            w.cube_cycles += flops / m.cube_rate(op.lhs.type.dtype.name)
            for v in (op.lhs, op.rhs):
                self.gm_read(v, w)
        elif isinstance(op, (ops.Assemble, ops.Scatter)):
            self.gm_read(op.src, w)
            if op.dst in self.gm:
                w.gm_bytes += op.src.type.nbytes
            else:
                self.vector(w, op.src.type)
        elif isinstance(op, ops.Write):
            w.gm_scalar += op.dst in self.gm
        elif isinstance(op, ops.TPush):
            w.gm_bytes += op.value.type.nbytes if isinstance(op.value.type, TensorType) else 0
            w.gm_scalar += isinstance(op.value.type, ScalarType)
        elif isinstance(op, ops.TPop):
            w.gm_bytes += op.results[0].type.nbytes
        elif isinstance(op, ops.Gather):
            self.gm_read(op.index, w)
            gathered = op.results[0].type
            w.gm_bytes += gathered.nbytes if op.src in self.gm else 0
            self.vector(w, gathered)
        elif isinstance(op, ops.Load) and op.src in self.gm:
            w.gm_bytes += op.src.type.nbytes
        else:
            for v in op.operands():
                self.gm_read(v, w)
            t = op.operands()[0].type if isinstance(op, ops.TopK) or not op.results else op.results[0].type
            if isinstance(op, ops.TopK):
                self.vector(w, t, max(1, math.ceil(math.log2(t.shape[1]))))
            elif isinstance(t, TensorType):
                widest = max([t] + [v.type for v in op.operands() if isinstance(v.type, TensorType)],
                             key=lambda x: x.nbytes)
                self.vector(w, widest, m.transcendental_factor if isinstance(op, TRANSCENDENTAL) else 1)


def _inner(op: Op) -> int:
    a = op.lhs.type.shape
    return a[0] if op.a_trans else a[1]


class CostModel:
    """Per-block cost of every kernel of a program, cached by (kernel, block index)."""

    def __init__(self, program: Program, machine: Machine = A2A3):
        self.m = machine
        self.functions = {f.name: f for f in program.functions[1:]}
        self.cache: dict[tuple[str, int], KernelCost] = {}

    def block(self, kernel: str, blk: int) -> KernelCost:
        key = (kernel, blk)
        if key not in self.cache:
            f = self.functions[kernel]
            parts = [self.functions[p] for p in f.attrs.get("parts", ())] or [f]
            walkers = [KernelWalker(p, self.m) for p in parts]
            works = [wk.block(blk) for wk in walkers]
            total = Work()
            for x in works:
                total.add(x)
            # The parts of a mixed kernel run concurrently on the cluster's AIC and AIV.
            parts_ns = tuple(x.ns(self.m) for x in works)
            self.cache[key] = KernelCost(total, self.m.launch_ns + max(parts_ns),
                                         [n for wk in walkers for n in wk.notes], parts_ns)
        return self.cache[key]


# --- the task graph and its list schedule -------------------------------------------------------------
@dataclass
class Node:
    """A unit of the graph: `kind` is the resource ("aic", "aiv", "mixed", "aicpu" or "none",
    which needs no core); each block runs `durations[b]` ns on one core (a cluster if mixed)."""

    key: str
    kind: str
    durations: list[float]
    deps: list[int]
    task: int | None = None   # the runtime task id (None for submit nodes)
    name: str = ""


@dataclass(frozen=True)
class Placement:
    node: int
    block: int
    cores: tuple[int, ...]    # AIC i is core i, AIV j is core aic_cores + j; the AICPU is -1
    start: float
    end: float


@dataclass
class Schedule:
    placements: list[Placement]
    makespan: float
    ends: list[float]


def bottom_levels(nodes: list[Node]) -> list[float]:
    """Longest path (sum of the longest block of each node) from each node to a sink; nodes are
    in a topological order (every dependency has a smaller index)."""
    succs: list[list[int]] = [[] for _ in nodes]
    for i, n in enumerate(nodes):
        for d in n.deps:
            succs[d].append(i)
    level = [0.0] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        level[i] = max(nodes[i].durations, default=0.0) + max((level[s] for s in succs[i]), default=0.0)
    return level


def critical_path(nodes: list[Node]) -> float:
    return max(bottom_levels(nodes), default=0.0)


class _Cores:
    """Which cores are idle; AIC c and AIV 2c, 2c+1 form cluster c."""

    def __init__(self, n_aic: int, n_aiv: int):
        self.n_aic = n_aic
        self.idle = {"aic": list(range(n_aic)), "aiv": list(range(n_aiv))}
        self.busy_aic, self.busy_aiv = [False] * n_aic, [False] * n_aiv

    def take(self, kind: str) -> tuple[int, ...] | None:
        if kind == "mixed":
            for c in range(self.n_aic):
                if not (self.busy_aic[c] or self.busy_aiv[2 * c] or self.busy_aiv[2 * c + 1]):
                    self._mark((c,), (2 * c, 2 * c + 1), True)
                    return (c, self.n_aic + 2 * c, self.n_aic + 2 * c + 1)
            return None
        busy = self.busy_aic if kind == "aic" else self.busy_aiv
        heap = self.idle[kind]
        while heap and busy[heap[0]]:
            heapq.heappop(heap)
        if not heap:
            return None
        i = heapq.heappop(heap)
        busy[i] = True
        return (i,) if kind == "aic" else (self.n_aic + i,)

    def give(self, cores: tuple[int, ...]) -> None:
        aic = tuple(c for c in cores if 0 <= c < self.n_aic)
        aiv = tuple(c - self.n_aic for c in cores if c >= self.n_aic)
        self._mark(aic, aiv, False)

    def _mark(self, aic, aiv, busy: bool) -> None:
        for c in aic:
            self.busy_aic[c] = busy
            if not busy:
                heapq.heappush(self.idle["aic"], c)
        for v in aiv:
            self.busy_aiv[v] = busy
            if not busy:
                heapq.heappush(self.idle["aiv"], v)


RESOURCE_ORDER = ("aicpu", "none", "mixed", "aic", "aiv")


def list_schedule(nodes: list[Node], n_aic: int = AIC_CORES, n_aiv: int = AIV_CORES) -> Schedule:
    """Greedy list scheduling: whenever a core is idle, it takes the ready block of the highest
    bottom level (lowest node index on ties). `nodes` are in a topological order."""
    level = bottom_levels(nodes)
    succs: list[list[int]] = [[] for _ in nodes]
    waiting = [len(set(n.deps)) for n in nodes]
    for i, n in enumerate(nodes):
        for d in set(n.deps):
            succs[d].append(i)
    ready: dict[str, list] = {k: [] for k in RESOURCE_ORDER}
    cores, events, placements = _Cores(n_aic, n_aiv), [], []
    left = [len(n.durations) for n in nodes]
    ends = [0.0] * len(nodes)

    def release(i: int) -> None:
        for b in range(len(nodes[i].durations)):
            heapq.heappush(ready[nodes[i].kind], (-level[i], i, b))
        if not nodes[i].durations:
            finish(i, now)

    def finish(i: int, t: float) -> None:
        ends[i] = t
        for s in succs[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                release(s)

    now = 0.0
    for i in range(len(nodes)):
        if waiting[i] == 0:
            release(i)
    seq = 0
    while True:
        for kind in RESOURCE_ORDER:
            while ready[kind]:
                got = (-1,) if kind in ("aicpu", "none") else cores.take(kind)
                if got is None:
                    break
                _, i, b = heapq.heappop(ready[kind])
                end = now + nodes[i].durations[b]
                placements.append(Placement(i, b, got, now, end))
                heapq.heappush(events, (end, seq, i, got))
                seq += 1
        if not events:
            break
        now, _, i, got = heapq.heappop(events)
        if got != (-1,):
            cores.give(got)
        left[i] -= 1
        if left[i] == 0:
            finish(i, now)
    if any(left):
        raise ValueError("list_schedule: the graph has a cycle or a dependency on a later node")
    return Schedule(placements, max(ends, default=0.0), ends)


# --- a run's prediction -----------------------------------------------------------------------------
KINDS = {"aic": "aic", "aiv": "aiv", "mixed": "mixed", "dummy": "none", "alloc": "none"}


def build_graph(log, costs: CostModel) -> list[Node]:
    """Nodes of a run in topological order: submit node of task i at 2i, the task at 2i + 1."""
    waits: dict[int, list[int]] = {}
    for seq, waited in log.waits():
        waits.setdefault(seq, []).extend(waited)
    nodes: list[Node] = []
    index: dict[int, int] = {}
    for tid in sorted(log.tasks):
        info = log.tasks[tid]
        submit_deps = ([len(nodes) - 2] if nodes else []) + [index[w] for w in waits.get(tid, ()) if w in index]
        nodes.append(Node(f"submit {tid}", "aicpu", [costs.m.submit_ns], submit_deps, tid, "submit"))
        kind = KINDS[info.core]
        durations = [costs.block(info.kernel, b).ns for b in range(info.blocks)] if kind != "none" else [0.0]
        deps = [len(nodes) - 1] + [index[d] for d in info.deps]
        index[tid] = len(nodes)
        nodes.append(Node(f"task {tid}", kind, durations, deps, tid, info.kernel or info.core))
    return nodes


@dataclass
class Prediction:
    machine: Machine
    nodes: list[Node]
    schedule: Schedule
    critical_path: float              # ns, longest dependency chain (submits included)
    work: dict[str, float]            # core-ns busy per core type ("aic", "aiv"); mixed counts on both
    notes: list[str]
    kernel_tasks: int

    @property
    def makespan(self) -> float:
        return self.schedule.makespan

    @property
    def work_bound(self) -> float:
        """Total work / cores: the makespan with perfect packing on each core type."""
        m = self.machine
        return max(self.work["aic"] / m.aic_cores, self.work["aiv"] / m.aiv_cores)

    @property
    def submit_total(self) -> float:
        return sum(n.durations[0] for n in self.nodes if n.kind == "aicpu")

    def utilization(self) -> dict[str, float]:
        m, span = self.machine, self.makespan or 1.0
        return {"aic": self.work["aic"] / (m.aic_cores * span), "aiv": self.work["aiv"] / (m.aiv_cores * span)}

    def summary(self) -> dict:
        return {"makespan_us": self.makespan / 1e3, "critical_path_us": self.critical_path / 1e3,
                "work_per_core_us": self.work_bound / 1e3, "submit_total_us": self.submit_total / 1e3,
                "utilization": self.utilization(), "kernel_tasks": self.kernel_tasks, "notes": self.notes}


def predict_log(log, program: Program, machine: Machine = A2A3) -> Prediction:
    costs = CostModel(program, machine)
    nodes = build_graph(log, costs)
    schedule = list_schedule(nodes, machine.aic_cores, machine.aiv_cores)
    work = {"aic": 0.0, "aiv": 0.0}
    for n in nodes:
        if n.kind in ("aic", "aiv"):
            work[n.kind] += sum(n.durations)
        elif n.kind == "mixed":  # a mixed block holds a whole cluster: its AIC and both AIVs
            work["aic"] += sum(n.durations)
            work["aiv"] += 2 * sum(n.durations)
    notes = sorted({f"{name}: {note}" for (name, _), c in costs.cache.items() for note in c.notes})
    kernel_tasks = sum(n.kind in ("aic", "aiv", "mixed") for n in nodes)
    return Prediction(machine, nodes, schedule, critical_path(nodes), work, notes, kernel_tasks)


def predict(sim, machine: Machine = A2A3) -> Prediction:
    """The prediction for the last run of an a2a3sim `Simulation`."""
    return predict_log(sim.log, sim.compilation.program, machine)


def format_prediction(p: Prediction) -> str:
    u = p.utilization()
    lines = [f"timing model (a2a3: {p.machine.aic_cores} AIC + {p.machine.aiv_cores} AIV; "
             f"{p.kernel_tasks} kernel task(s), {len(p.nodes) // 2} submitted):",
             f"  predicted makespan   {p.makespan / 1e3:12.2f} us",
             f"  critical path        {p.critical_path / 1e3:12.2f} us  (makespan / critical path "
             f"{p.makespan / max(p.critical_path, 1e-9):.2f})",
             f"  total work / cores   {p.work_bound / 1e3:12.2f} us  (AIC {p.work['aic'] / 1e3:.2f}, "
             f"AIV {p.work['aiv'] / 1e3:.2f} core-us)",
             f"  orchestrator submits {p.submit_total / 1e3:12.2f} us",
             f"  utilization          AIC {100 * u['aic']:.1f}%  AIV {100 * u['aiv']:.1f}%"]
    lines += [f"  estimate: {n}" for n in p.notes]
    return "\n".join(lines)
