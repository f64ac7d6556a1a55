"""Names for the bytes and tasks of an a2a3sim run, for the sanitizer's messages: an entry parameter
by name and element, a workspace byte range by the tensors the memory plan placed there (two names
at one offset is a reuse), a task by its kernel and the line that submitted it."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.types import TensorType


class BufferLabels:
    def __init__(self, sim, arrays: list[Any]):
        self.sim = sim
        self.params = [(p, a) for p, a in zip(sim.entry.params, arrays) if isinstance(p.value.type, TensorType)]
        plan = sim.compilation.facts.get("memplan")
        self.allocs = [] if plan is None else [(a.offset, a.offset + a.size, a.name, a.op.loc, a.buffer)
                                               for a in plan.allocs]
        self.workspace = sim.workspace()
        self.kinds: dict[int, str] = {}  # space start -> "param" / "workspace" / "allocation"

    def spaces(self) -> list[tuple[int, int, str, bool]]:
        out = []
        for p, a in self.params:
            lo = a.ctypes.data
            out.append((lo, lo + a.nbytes, f"`{p.name}`", p.direction != "out"))
            self.kinds[lo] = "param"
        for t in self.sim.outputs:
            is_ws = self.workspace is not None and t.buffer_addr == self.workspace.buffer_addr
            name = "the workspace" if is_ws else f"the buffer task {t.owner_task_id} allocated"
            out.append((t.buffer_addr, t.buffer_addr + t.buffer_size, name, False))
            self.kinds[t.buffer_addr] = "workspace" if is_ws else "allocation"
        return out

    def describe(self, space, offset: int, access) -> str:
        kind = self.kinds.get(space.lo)
        touched = _touched_bytes(access) + offset
        if kind == "param":
            p, a = next((p, a) for p, a in self.params if a.ctypes.data == space.lo)
            coords = np.unravel_index(touched // a.itemsize, a.shape)
            box = ", ".join(f"{c.min()}:{c.max() + 1}" for c in coords)
            return f"{space.name}[{box}]"
        if kind == "workspace":
            offset, end = int(touched.min()), int(touched.max()) + access.itemsize
            here = [a for a in self.allocs if a[0] < end and offset < a[1]]
            info = self.sim.log.tasks.get(access.task)
            call = self.sim.calls.get(info.kernel) if info is not None else None
            passed = self.sim.buffers_passed(call) if call is not None else set()
            mine = [a for a in here if a[4] in passed] or here  # the task's own tensor, when known
            names = " or ".join(f"`{n}` ({loc})" for _, _, n, loc, _ in mine)
            return f"workspace bytes [{offset}, {end}) of {names}" if names else f"workspace bytes [{offset}, {end})"
        return f"{space.name} at byte {offset}"

    def task_name(self, task: int) -> str:
        info = self.sim.log.tasks.get(task)
        if info is None or info.kernel is None:
            return f"task {task}"
        return f"task {task} `{info.kernel}` (submitted at {info.loc})"


def _touched_bytes(access) -> np.ndarray:
    """Byte offsets (from the access's array origin) of the first byte of every element accessed."""
    positions = np.zeros(access.shape, np.int64)
    for d, (n, stride) in enumerate(zip(access.shape, access.strides)):
        shape = [1] * len(access.shape)
        shape[d] = n
        positions = positions + (np.arange(n, dtype=np.int64) * stride).reshape(shape)
    picked = positions if access.key is None else positions[access.key]
    return np.asarray(picked).ravel()
