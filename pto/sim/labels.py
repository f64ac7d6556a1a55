"""Names for the bytes and tasks of an a2a3sim run, for the sanitizer's messages: an entry parameter
by name and element, a workspace byte range by the tensors the memory plan placed there (two names
at one offset is a reuse), a task by its kernel and the line that submitted it."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.memory import buffer_roots
from ..ir import ops
from ..ir.types import TensorType
from . import native as nat


class BufferLabels:
    def __init__(self, sim, arrays: list[Any]):
        self.sim = sim
        self.params = [(p, a) for p, a in zip(sim.entry.params, arrays) if isinstance(p.value.type, TensorType)]
        plan = sim.compilation.facts.get("memplan")
        self.allocs = [] if plan is None else [(a.offset, a.offset + a.size, a.name, a.op.loc, a.buffer)
                                               for a in plan.allocs]
        roots = buffer_roots(sim.entry)
        # kernel -> the planned buffers its call site passes (what a task of it can mean by its bytes)
        self.passed = {op.kernel: {b for v in op.operands() for b in roots.get(v, ())}
                       for op in sim.entry.walk() if isinstance(op, ops.Call)}
        self.workspace_size = int(sim.entry.attrs.get("workspace", 0))
        self.kinds: dict[int, str] = {}  # space start -> "param" / "workspace" / "allocation"

    def spaces(self) -> list[tuple[int, int, str, bool]]:
        out = []
        for p, a in self.params:
            lo = a.ctypes.data
            out.append((lo, lo + a.nbytes, f"`{p.name}`", p.direction != "out"))
            self.kinds[lo] = "param"
        for t in self.sim.outputs:
            owner = self.sim.log.tasks.get(t.owner_task_id)
            is_ws = owner is not None and owner.core == "alloc" and t.buffer_size == self.workspace_size
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
            passed = self.passed.get(info.kernel, set()) if info is not None else set()
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
