"""onchip: on-chip buffer planning per kernel (UB, L1, L0A, L0B, L0C) and the overflow check.

Requires: an outlined program (passes/outline.py): kernel functions carry attrs role="kernel".
Produces: facts["onchip"] = {kernel name: {space: plan}} for every space in CAPACITY, where plan is
  {"peak": the most bytes live at once, "extent": the end of the first-fit layout (>= peak),
   "capacity": the space's size, "offsets": {label: byte offset}, "sizes": {label: bytes}}.
A label is the buffer's value name as `print_program` prints it (`%7`), or for a staging copy
`%operand->SPACE@%result` (the operand copied into SPACE for the op that defines %result).
Raises PlValueError at the user's line when a kernel's layout does not fit a space.

The model (where tiles live):
  * GM memory (the values `buffer_roots` knows: parameters, create_tensor, their views and
    versions) takes no on-chip space. Every other tensor value is a tile with one home:
    matmul / matmul_acc results in L0C, a `pl.load` read only by matmuls in L1, the rest in UB.
  * An op reads operands from the space it needs; an operand living elsewhere is copied there for
    that op only (a staging buffer live at the op): vector ops read UB (a GM view or an L0C result
    read by a vector op costs a UB tile of its shape); matmul operands are staged in L1 (unless
    already there) and in L0A (lhs) / L0B (rhs); a matmul_acc accumulator not in L0C is copied there.
    A GM -> GM `assemble` goes through a UB tile; other assembles move data without staging.
  * Views of a tile (slice, reshape) and its versions (assemble / write into it) share the tile's
    buffer. A loop-carried tile, its init, the value yielded for it and the loop's result are
    separate buffers; their home is the common home of init and yield, or UB when they differ.
Liveness: program order is time. A buffer is live from its definition to its last use, both
included (an op's operands and results are live together). A use inside a loop of a value defined
outside it keeps the value live to the loop's end; loop-carried values are live for the whole loop.
A region op's results are defined after its body; branches of `pl.if` are laid out one after the other.
Sizes are element count x element bytes rounded up to 32 (ALIGN); offsets come from a first-fit
allocator over the live intervals in order of definition, so they are 32-byte aligned.

Simplifications. Counting less than hardware would: no per-row padding (a [16, 1] FP32 tile is 64
bytes); a tile's versions share one buffer even when an older version is read after a write.
Counting more: no in-place updates (`acc = matmul_acc(acc, ...)` holds two L0C tiles); a GM view
is copied again for every op that reads it; `pl.if` branches are laid out one after the other.
Not modeled: double buffering, the two vector cores per cube core of a mixed kernel (UB counts as
one vector core's, L1/L0 as one cube core's) and the GM round trip between them. The check is on
the first-fit layout, so fragmentation counts as overflow (the error gives the live bytes too).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis.memory import buffer_roots
from ..errors import PlValueError
from ..ir import ops
from ..ir.core import Function, Op, Region, Value
from ..ir.printer import Printer
from ..ir.types import TensorType
from .outline import COMPUTE, CUBE

NAME = "onchip"

KIB = 1024
CAPACITY = {"UB": 192 * KIB, "L1": 512 * KIB, "L0A": 64 * KIB, "L0B": 64 * KIB, "L0C": 128 * KIB}
ALIGN = 32
TILE_VIEWS = (ops.Slice, ops.Reshape)
TILE_WRITES = (ops.Assemble, ops.Write)


@dataclass
class Buffer:
    label: str
    space: str
    size: int
    start: int
    end: int
    op: Op  # the op that allocates it (its loc is reported)
    offset: int = 0


def run(c):
    kernels = [f for f in c.program.functions if f.attrs.get("role") == "kernel"]
    c.facts["onchip"] = {f.name: plan_kernel(f) for f in kernels}
    return c


def nbytes(v: Value) -> int:
    t = v.type
    n = t.dtype.nbytes
    for d in t.shape:
        n *= d
    return -(-n // ALIGN) * ALIGN


def plan_kernel(f: Function) -> dict[str, dict]:
    buffers = _Liveness(f).buffers()
    plans = {}
    for space, capacity in CAPACITY.items():
        mine = sorted((b for b in buffers if b.space == space), key=lambda b: (b.start, b.end))
        _first_fit(f, space, mine)
        plans[space] = {"peak": max((_live_at(mine, b.start) for b in mine), default=0),
                        "extent": max((b.offset + b.size for b in mine), default=0),
                        "capacity": capacity,
                        "offsets": {b.label: b.offset for b in mine},
                        "sizes": {b.label: b.size for b in mine}}
    return plans


def _live_at(buffers: list[Buffer], t: int) -> int:
    return sum(b.size for b in buffers if b.start <= t <= b.end)


def _first_fit(f: Function, space: str, buffers: list[Buffer]) -> None:
    """Place each buffer at the lowest offset free for its whole life; raise on overflow."""
    placed: list[Buffer] = []
    for b in buffers:
        offset = 0
        for other in sorted((p for p in placed if p.start <= b.end and b.start <= p.end),
                            key=lambda p: p.offset):
            if offset + b.size <= other.offset:
                break
            offset = max(offset, other.offset + other.size)
        b.offset = offset
        placed.append(b)
        if offset + b.size > CAPACITY[space]:
            raise PlValueError(
                f"kernel '{f.name}' overflows {space}: {b.op.name} allocates {b.size} bytes ({b.label}) "
                f"at offset {offset}, so {space} needs {offset + b.size} bytes ({_live_at(buffers, b.start)} "
                f"live at once) but has {CAPACITY[space]}; use smaller tiles", b.op.loc)


def _homes(f: Function, memory: set[Value]) -> dict[Value, str]:
    """Tile value -> its space, to a fixpoint: a loop-carried tile's home depends on what the loop
    yields for it. A home only grows: unknown, then one space, then UB when its sources disagree."""
    users: dict[Value, list[Op]] = {}
    for op in f.walk():
        for v in op.operands():
            users.setdefault(v, []).append(op)
    homes: dict[Value, str] = {}

    def join(v: Value, sources, fixed: str | None = None) -> bool:
        known = {homes[x] for x in (v, *sources) if x in homes} | ({fixed} if fixed else set())
        if v in memory or not isinstance(v.type, TensorType) or not known:
            return False
        h = known.pop() if len(known) == 1 else "UB"
        changed, homes[v] = homes.get(v) != h, h
        return changed

    def visit(op: Op) -> bool:
        if isinstance(op, ops.ForLoop):
            body = op.regions[0]
            return any([join(a, (init, y)) | join(r, (a,)) for a, init, y, r in
                        zip(body.args[1:], op.init, body.ops[-1].values, op.results)])
        if op.regions:
            return any([join(r, [reg.ops[-1].values[i] for reg in op.regions]) for i, r in enumerate(op.results)])
        if isinstance(op, TILE_VIEWS + TILE_WRITES):
            return join(op.results[0], (op.src if isinstance(op, TILE_VIEWS) else op.dst,))
        return any([join(r, (), _home_of(op, users.get(r, []))) for r in op.results])

    while any([visit(op) for op in f.walk()]):
        pass
    return homes


def _home_of(op: Op, users: list[Op]) -> str:
    if isinstance(op, CUBE):
        return "L0C"
    if isinstance(op, ops.Load) and users and all(
            isinstance(u, CUBE) and getattr(u, "acc", None) is not op.results[0] for u in users):
        return "L1"  # a load only matmuls read (as lhs / rhs)
    return "UB"


class _Liveness:
    """One walk of a kernel body: positions, homes, aliases and uses of its tiles."""

    def __init__(self, f: Function):
        self.memory = set(buffer_roots(f))
        self.homes = _homes(f, self.memory)
        printer = Printer()
        printer.function(f)
        self.name = printer.name  # labels as print_program spells them
        self.time = 0
        self.root: dict[Value, Value] = {}     # tile value -> the tile whose buffer it uses
        self.depth: dict[Value, int] = {}      # tile value -> number of loops around its definition
        self.start: dict[Value, int] = {}
        self.ends: dict[Value, list] = {}      # root tile -> uses: a time, or a loop (its end)
        self.owner: dict[Value, Op] = {}
        self.exit: dict[Op, int] = {}
        self.staged: list[Buffer] = []
        self.region(f.body, ())

    def buffers(self) -> list[Buffer]:
        out = list(self.staged)
        for v, start in self.start.items():
            end = max([start] + [self.exit[e] if isinstance(e, Op) else e for e in self.ends[v]])
            out.append(Buffer(self.name(v), self.homes[v], nbytes(v), start, end, self.owner[v]))
        return out

    def tick(self) -> int:
        self.time += 1
        return self.time

    # --- the walk ------------------------------------------------------------------------------
    def region(self, region: Region, loops: tuple[Op, ...]) -> None:
        for op in region.ops:
            self.op(op, loops)

    def op(self, op: Op, loops: tuple[Op, ...]) -> None:
        t = self.tick()
        for v in op.operands():
            self.use(v, t, loops)
        self.stage(op, t)
        if not op.regions:
            for r in op.results:
                self.define(r, op, t, loops)
            return
        is_loop = isinstance(op, ops.ForLoop)
        inner = loops + (op,) if is_loop else loops
        for arg in op.regions[0].args[1:] if is_loop else ():
            self.define(arg, op, t, inner)
            if arg in self.ends:
                self.ends[arg].append(op)  # carried: live for the whole loop
        for r in op.regions:
            self.region(r, inner)
        self.exit[op] = end = self.tick()
        for r in op.results:
            self.define(r, op, end, loops)

    def define(self, v: Value, op: Op, t: int, loops: tuple[Op, ...]) -> None:
        if v not in self.homes:  # GM memory or a scalar
            return
        self.depth[v] = len(loops)
        base = op.src if isinstance(op, TILE_VIEWS) else op.dst if isinstance(op, TILE_WRITES) else None
        if base is not None and base in self.root:
            self.root[v] = self.root[base]
            return
        self.root[v] = v
        self.start[v], self.ends[v], self.owner[v] = t, [], op

    def use(self, v: Value, t: int | Op, loops: tuple[Op, ...]) -> None:
        if v not in self.root:
            return
        d = self.depth[v]
        self.ends[self.root[v]].append(loops[d] if len(loops) > d else t)

    # --- staging copies ------------------------------------------------------------------------
    def stage(self, op: Op, t: int) -> None:
        if isinstance(op, CUBE):
            for v, l0 in ((op.lhs, "L0A"), (op.rhs, "L0B")):
                if self.homes.get(v) != "L1":
                    self.copy(v, "L1", op, t)
                self.copy(v, l0, op, t)
            if isinstance(op, ops.MatmulAcc) and self.homes.get(op.acc) != "L0C":
                self.copy(op.acc, "L0C", op, t)
        elif isinstance(op, COMPUTE):
            for v in op.operands():
                if isinstance(v.type, TensorType) and self.homes.get(v) != "UB":
                    self.copy(v, "UB", op, t)
        elif isinstance(op, ops.Assemble) and op.src in self.memory and op.dst in self.memory:
            self.copy(op.src, "UB", op, t)

    def copy(self, v: Value, space: str, op: Op, t: int) -> None:
        at = self.name(op.results[0]) if op.results else op.name
        self.staged.append(Buffer(f"{self.name(v)}->{space}@{at}", space, nbytes(v), t, t, op))
