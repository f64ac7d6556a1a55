"""What one a2a3sim run leaves behind for the sanitizer, the trace and the timing model: every task
the runtime ran (with its declared dependencies and wall time) and the orchestration-side events."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir.types import Loc


@dataclass(frozen=True)
class TaskInfo:
    id: int
    kernel: str | None      # None for dummy (join) and alloc tasks
    core: str               # "aiv", "aic", "mixed", "dummy", "alloc"
    blocks: int
    deps: tuple[int, ...]
    loc: Loc | None         # the orchestration line that submitted it
    declared: tuple[tuple[int, int, bool], ...] = ()  # (first byte, end, written) per tensor argument
    start_ns: int = 0       # wall time in the simulator (perf_counter_ns)
    end_ns: int = 0


@dataclass(frozen=True)
class Event:
    kind: str               # "read", "write" (orchestration element access), "scope_end", "release"
    seq: int                # tasks submitted before it
    addr: int = 0           # read / write: the element's host address; release: the buffer's
    size: int = 0           # bytes (the element's, or the released buffer's)
    scope_id: int = 0
    buffer: tuple[int, int] = (0, 0)  # read / write: the accessed tensor's buffer (what the runtime waits on)


@dataclass
class RunLog:
    tasks: dict[int, TaskInfo] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    order: list[int] = field(default_factory=list)  # task ids in the order they ran

    def deps(self) -> dict[int, tuple[int, ...]]:
        return {t.id: t.deps for t in self.tasks.values()}

    def waits(self) -> list[tuple[int, tuple[int, ...]]]:
        """The orchestration's element accesses as orderings: (seq, tasks waited for). A read waits
        for the earlier tasks declaring a write to the buffer, a write for every earlier task
        declaring it (the runtime's get/set_tensor_data); every task submitted afterwards is thus
        ordered after them."""
        out = []
        for e in self.events:
            if e.kind not in ("read", "write"):
                continue
            lo, hi = e.buffer
            waited = tuple(t.id for t in self.tasks.values() if t.id < e.seq and any(
                a < hi and lo < b and (written or e.kind == "write") for a, b, written in t.declared))
            out.append((e.seq, waited))
        return out
