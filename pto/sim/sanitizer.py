"""The a2a3sim sanitizer (DESIGN.md §7): what the device would expose, reported instead of computed.

While tasks run (in any schedule), every GM access a kernel makes is logged: the task, read or
write, the exact elements (a numpy view of the task's memory plus the index the op applied), and
the op's source line. The orchestration's element accesses and the runtime's scope ends and
releases arrive as events. After the run, `Sanitizer.check` replays everything in program order
(task ids; an event after the tasks submitted before it) over shadow state per byte of every
buffer: the last writer, and the set of readers since that write. It reports

  - a conflicting pair (RAW, WAR, WAW) with no path between the two tasks in the dependency graph
    the orchestration declared (explicit dependencies, join tasks included): some valid schedule
    orders them the other way, so this is a race whatever order this run happened to take;
  - a read of bytes nothing wrote (an Out parameter, a fresh allocation, a workspace slot);
  - an access to memory released when its scope closed (the runtime poisons it: NaN / 0xA5);
  - an access through a tensor the task passed untracked (no_dep): nothing orders it or keeps the
    buffer alive for it, so the runtime may release it first.

The unit is a task's SPMD block: the blocks of one task run side by side on different cores, so
two of them touching the same bytes (one writing) conflict like two unordered tasks (data-dependent
rows the compiler cannot prove disjoint end up here). The orderings are the explicit dependencies (join tasks included) and the orchestration's waits: a
get/set_tensor_data waits for the earlier tasks declaring the buffer, so every later task comes
after them. Because the check runs on the declared graph rather than on the observed order, it is schedule
independent: one run finds every unordered conflict among the accesses it made. Accesses outside a
task's tensor arguments cannot be expressed (a kernel addresses memory only through its parameter
views, whose bounds the interpreter checks at the op's line), so they surface as kernel errors.

Reader sets stay small: a new reader drops the readers it is ordered after (anything ordered after
the new one is ordered after those too). Reachability uses ancestor bitsets, one Python int per
task, so the sanitizer is meant for test-sized runs (it is off with `--no-sanitize`).
"""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.types import Loc
from .native import A2a3SimError

NEVER, HOST, ORCH, RELEASED = -1, -2, -3, -4  # shadow writer values that are not accessors
BLOCK_BITS = 16  # an accessor is task << 16 | SPMD block: the blocks of one task are not ordered
BLOCK_MASK = (1 << BLOCK_BITS) - 1
MAX_REPORTED = 8


class SanitizerError(A2a3SimError):
    """The sanitizer found faults; `findings` lists them (the message shows the first few)."""

    def __init__(self, findings: list["Finding"]):
        self.findings = findings
        lines = [f"a2a3sim sanitizer: {len(findings)} fault(s)"] + [f"  - {f}" for f in findings[:MAX_REPORTED]]
        if len(findings) > MAX_REPORTED:
            lines.append(f"  ... and {len(findings) - MAX_REPORTED} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Access:
    task: int            # task id, or ORCH for the orchestration
    mode: str            # "r" or "w"
    addr: int            # host address of the array's first element
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # bytes
    itemsize: int
    key: Any             # the index applied to the array (None: all of it)
    loc: Loc | None
    what: str            # the op or API call, for messages
    block: int = 0       # the SPMD block of the task that made it


@dataclass(frozen=True)
class Finding:
    kind: str            # "missing RAW/WAR/WAW edge", "uninitialized read", "use after release", "untracked access"
    first: int | None    # the earlier task (None for uninitialized / released)
    second: int          # the later task
    buffer: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Space:
    """A contiguous range of host memory the run knows: an entry argument or a runtime allocation."""

    lo: int
    hi: int
    name: str
    writer: np.ndarray = field(repr=False)
    readers: np.ndarray = field(repr=False)


class AccessLog:
    """The interpreter's observer: records every GM access of the task being run."""

    def __init__(self):
        self.accesses: list[Access] = []
        self.task, self.block = -1, 0
        self._lock = threading.Lock()  # the parts of a mixed task record from two threads

    def __call__(self, op, mode: str, array: np.ndarray, key: Any = None) -> None:
        if array.size == 0:
            return
        a = Access(self.task, mode, array.__array_interface__["data"][0], array.shape, array.strides,
                   array.itemsize, key, getattr(op, "loc", None), getattr(op, "name", str(op)), self.block)
        with self._lock:
            self.accesses.append(a)


class Graph:
    """The declared ordering: is task a ordered before task b? By a path of explicit dependencies,
    or through an orchestration wait: a task submitted after a get/set_tensor_data comes after
    every task that access waited for (`waits`: (seq, waited task ids), in seq order)."""

    def __init__(self, deps: dict[int, tuple[int, ...]], waits: list[tuple[int, tuple[int, ...]]] = ()):
        self.deps = deps
        self.waits = sorted(waits)
        self._ancestors: list[int] = []
        self._barrier, self._next_wait = 0, 0  # tasks every task from now on is ordered after

    def ancestors(self, t: int) -> int:
        while len(self._ancestors) <= t:
            i = len(self._ancestors)
            while self._next_wait < len(self.waits) and self.waits[self._next_wait][0] <= i:
                for w in self.waits[self._next_wait][1]:
                    self._barrier |= self._ancestors[w] | (1 << w)
                self._next_wait += 1
            bits = self._barrier
            for d in self.deps.get(i, ()):
                bits |= self._ancestors[d] | (1 << d)
            self._ancestors.append(bits)
        return self._ancestors[t]

    def ordered(self, a: int, b: int) -> bool:
        return a == b or (a < b and (self.ancestors(b) >> a) & 1 == 1)


class ReaderSets:
    """Interned sets of readers (id 0 is the empty set); `ordered(a, b)` orders two readers."""

    def __init__(self, ordered):
        self.ordered = ordered
        self.sets: list[frozenset[int]] = [frozenset()]
        self.index: dict[frozenset[int], int] = {frozenset(): 0}

    def add(self, set_id: int, reader: int) -> int:
        kept = frozenset(r for r in self.sets[set_id] if not self.ordered(r, reader)) | {reader}
        if kept not in self.index:
            self.index[kept] = len(self.sets)
            self.sets.append(kept)
        return self.index[kept]


class Sanitizer:
    """Replays a run's accesses in program order over shadow state (see the module docstring).

    `spaces`: (lo, hi, name, initialized) for every buffer the run knows; `label(addr, size)` names
    bytes for messages (a parameter slice, the workspace tensors planned there); `task_name(id)`.
    """

    def __init__(self, log, accesses: list[Access], spaces: list[tuple[int, int, str, bool]], label, task_name):
        self.log = log
        self.graph = Graph(log.deps(), log.waits())
        self.readers = ReaderSets(self.ordered)
        self.spaces = sorted((Space(lo, hi, name, np.full(hi - lo, HOST if init else NEVER, np.int64),
                                    np.zeros(hi - lo, np.int64)) for lo, hi, name, init in spaces),
                             key=lambda s: s.lo)
        self.starts = [s.lo for s in self.spaces]
        self.label, self.task_name = label, task_name
        self.findings: list[Finding] = []
        self._seen: set[tuple] = set()
        self.by_task: dict[int, list[Access]] = {}
        for a in accesses:
            self.by_task.setdefault(a.task, []).append(a)
        self.released_scope: dict[int, int] = {}  # space.lo -> scope id whose end released it

    # --- who: a task's SPMD block is the unit (blocks of one task run side by side) ---------------
    @staticmethod
    def who(a: Access) -> int:
        return a.task if a.task == ORCH else a.task << BLOCK_BITS | a.block

    def ordered(self, x: int, y: int) -> bool:
        """Is accessor x (a task's block) ordered before accessor y?"""
        tx, ty = x >> BLOCK_BITS, y >> BLOCK_BITS
        if tx == ty:
            return x == y  # two blocks of one task are never ordered
        return self.graph.ordered(tx, ty)

    def name(self, accessor: int) -> str:
        task, block = accessor >> BLOCK_BITS, accessor & BLOCK_MASK
        info = self.log.tasks.get(task)
        multi = info is not None and info.blocks > 1
        return self.task_name(task) + (f" block {block}" if multi else "")

    # --- driving ---------------------------------------------------------------------------------
    def check(self) -> list[Finding]:
        for e in self.log.events:
            if e.kind == "release":
                self.released_scope[e.addr] = e.scope_id
        events = sorted(self.log.events, key=lambda e: e.seq)  # stable: arrival order within a seq
        ei = 0
        for t in sorted(self.log.tasks):
            while ei < len(events) and events[ei].seq <= t:
                self._event(events[ei])
                ei += 1
            for a in self.by_task.get(t, ()):
                self._access(a)
        for e in events[ei:]:
            self._event(e)
        return self.findings

    def _event(self, e) -> None:
        if e.kind in ("read", "write"):
            self._access(Access(ORCH, e.kind[0], e.addr, (1,), (e.size,), e.size, None, None,
                                "get_tensor_data" if e.kind == "read" else "set_tensor_data"))
        elif e.kind == "scope_end":
            for s in self.spaces:
                if self.released_scope.get(s.lo) == e.scope_id:
                    s.writer[:] = RELEASED
                    s.readers[:] = 0

    # --- one access --------------------------------------------------------------------------------
    def _space_of(self, addr: int) -> Space | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        space = self.spaces[i] if i >= 0 else None
        return space if space is not None and addr < space.hi else None

    @staticmethod
    def _shadow(a: Access, space: Space, shadow: np.ndarray) -> np.ndarray:
        """The shadow entries (one per byte) of the accessed array, before its index is applied."""
        return np.ndarray(a.shape + (a.itemsize,), np.int64, buffer=shadow, offset=(a.addr - space.lo) * 8,
                          strides=tuple(s * 8 for s in a.strides) + (8,))

    def _access(self, a: Access) -> None:
        space = self._space_of(a.addr)
        if space is None:
            return  # memory the run did not hand out: nothing to check
        if a.task != ORCH and not self._declared(a):
            self._report("untracked access", None, a, space,
                         f"{self._who(a)} {'reads' if a.mode == 'r' else 'writes'} {self._where(a, space)} through a "
                         f"tensor it passed untracked (no_dep): the runtime neither orders that access nor keeps "
                         f"the buffer alive for it")
        w_view, r_view = self._shadow(a, space, space.writer), self._shadow(a, space, space.readers)
        key = Ellipsis if a.key is None else a.key
        writers = np.asarray(w_view[key])
        self._check_writers(a, space, writers)
        if a.task == ORCH:  # ordered with every task on the buffer by the API's waits
            if a.mode == "w":
                w_view[key] = ORCH
                r_view[key] = 0
            return
        readers, me = np.asarray(r_view[key]), self.who(a)
        if a.mode == "r":
            uniq, inverse = np.unique(readers, return_inverse=True)
            new = np.array([self.readers.add(int(s), me) for s in uniq], np.int64)
            r_view[key] = new[inverse].reshape(readers.shape)
            return
        for s in np.unique(readers):
            for r in self.readers.sets[int(s)]:
                if not self.ordered(r, me):
                    self._conflict("missing WAR edge", r, "r", a, space)
        w_view[key] = me
        r_view[key] = 0

    def _declared(self, a: Access) -> bool:
        info = self.log.tasks.get(a.task)
        return info is None or any(lo <= a.addr < hi for lo, hi, _ in info.declared)

    def _check_writers(self, a: Access, space: Space, writers: np.ndarray) -> None:
        uniq = np.unique(writers)
        if a.mode == "r" and NEVER in uniq:
            self._report("uninitialized read", None, a, space,
                         f"{self._who(a)} reads {self._where(a, space)}, which nothing wrote before it")
        if RELEASED in uniq:
            self._report("use after release", None, a, space,
                         f"{self._who(a)} {'reads' if a.mode == 'r' else 'writes'} {self._where(a, space)} after its "
                         f"scope closed and the runtime released (and poisoned) it")
        if a.task == ORCH:
            return
        kind = "missing RAW edge" if a.mode == "r" else "missing WAW edge"
        me = self.who(a)
        for w in uniq:
            if w >= 0 and not self.ordered(int(w), me):
                self._conflict(kind, int(w), "w", a, space)

    # --- messages -----------------------------------------------------------------------------------
    def _conflict(self, kind: str, other: int, other_mode: str, a: Access, space: Space) -> None:
        first = self._first_access(other, other_mode, space, a)
        verb = {"r": "reads", "w": "writes"}
        mine, theirs = self._where(a, space), self._where(first, space) if first is not None else None
        msg = (f"{kind}: {self.name(other)} {verb[other_mode]} {theirs or mine}{_at(first)}, and "
               f"{self._who(a)} {verb[a.mode]} {'it' if theirs in (None, mine) else mine}{_at(a)} with no "
               f"dependency path from the first to the second (a schedule may run them in either order)")
        self._report(kind, other, a, space, msg)

    def _report(self, kind: str, first: int | None, a: Access, space: Space, message: str) -> None:
        key = (kind, first, self.who(a), space.lo)
        if key not in self._seen:
            self._seen.add(key)
            if first is None:  # a one-task fault: say which, and where the access is
                message = f"{kind}: {message}{_at(a)}"
            task = None if first is None else first >> BLOCK_BITS
            self.findings.append(Finding(kind, task, a.task, space.name, message))

    def _who(self, a: Access) -> str:
        return f"the orchestration ({a.what})" if a.task == ORCH else self.name(self.who(a))

    def _where(self, a: Access, space: Space) -> str:
        return self.label(space, a.addr - space.lo, a)

    def _first_access(self, accessor: int, mode: str, space: Space, near: Access) -> Access | None:
        """The other block's access to name: one whose extent overlaps `near`'s, else any in the space."""
        mine = [x for x in self.by_task.get(accessor >> BLOCK_BITS, ())
                if self.who(x) == accessor and x.mode == mode and space.lo <= x.addr < space.hi]
        lo, hi = _extent(near)
        return next((x for x in mine if _extent(x)[0] < hi and lo < _extent(x)[1]), mine[0] if mine else None)


def _extent(a: Access) -> tuple[int, int]:
    """Host addresses [first byte, one past the last) the access's array spans."""
    return a.addr, a.addr + a.itemsize + sum((n - 1) * s for n, s in zip(a.shape, a.strides) if n > 0)


def _at(a: Access | None) -> str:
    return f" (at {a.loc})" if a is not None and a.loc is not None else ""
