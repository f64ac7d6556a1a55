"""Platform `a2a3sim` (DESIGN.md §7): runs the emitted orchestration C++ against runtime/, with each
task's kernel run by the numpy interpreter on zero-copy views of the task's host memory.

The orchestration and the runtime are one shared library (native.py); the runtime calls back into
Python once per task it runs (a `TaskRecord`: kernel, tensor views, scalars, declared dependencies)
and once per orchestration event (element access, scope end, release). Schedules: program order
(`seed=None`) or a seeded random order among ready tasks (scheduler.cpp). With `sanitize=True`
every GM access of every kernel is logged and, after the run, checked in program order against the
declared dependency graph (sanitizer.py); a fault fails the run naming both tasks and lines.
"""
from __future__ import annotations

import ctypes
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..codegen.orchestration import emit_orchestration, kernel_ids
from ..errors import PtoError
from ..ir import ops
from ..analysis.memory import buffer_roots
from ..ir.gcpause import collector_paused
from ..ir.core import Function, Value
from ..ir.types import Loc, TensorType
from . import native as nat
from .interpreter import Interpreter, _run_parts
from .native import A2a3SimError, scalar_bits, scalar_value, tensor_view
from .run_log import Event, RunLog, TaskInfo
from .sanitizer import AccessLog, Sanitizer, SanitizerError

TASK_TENSOR_SIZE = ctypes.sizeof(nat.TaskTensor)
CORE_NAMES = {nat.AIV: "aiv", nat.AIC: "aic", nat.MIXED: "mixed", nat.DUMMY: "dummy", nat.ALLOC: "alloc"}
EVENT_NAMES = {nat.EV_READ: "read", nat.EV_WRITE: "write", nat.EV_SCOPE_END: "scope_end", nat.EV_RELEASE: "release"}

__all__ = ["A2a3SimError", "SanitizerError", "Simulation", "SimOptions", "run_a2a3sim", "simulation_of"]


@dataclass(frozen=True)
class SimOptions:
    seed: int | None = None   # None: program order; else the seed of a random ready-task order
    sanitize: bool = True


DEFAULT_OPTIONS = SimOptions()  # what `run` uses when given none (pto.sim.sim_options changes it)


class Simulation:
    """One compiled entry on a2a3sim: `run(args, options)` may be called repeatedly; after a run,
    `log` holds its tasks and events and `counters` the runtime's counts."""

    def __init__(self, compilation, orchestration: str | None = None):
        """`orchestration` replaces the emitted C++ (the bug-injection tests edit it)."""
        self.compilation = compilation
        self.program = compilation.program
        self.entry: Function = self.program.entry
        self.orchestration = orchestration if orchestration is not None else emit_orchestration(compilation)
        self.library = nat.load_library(nat.build_library(self.orchestration))
        self.names = {i: name for name, i in kernel_ids(self.program).items()}
        self.groups = {tuple(f.attrs["parts"]): f.name for f in self.program.functions[1:] if f.attrs.get("parts")}
        self.calls = _call_sites(self.entry)
        self.roots = buffer_roots(self.entry)
        self.layouts: dict[str, list] = {}
        self.runners: dict[str, tuple] = {}
        self.views: dict[tuple, np.ndarray] = {}  # (TaskTensor bytes, dtype) -> its array, for the current run
        self.root = Interpreter(self.entry, self.program)
        self.error: BaseException | None = None
        self.bases: dict[tuple[int, int], np.ndarray] = {}  # buffer -> its bytes, for the current run
        self.counters = nat.Counters()
        self.log = RunLog()
        self.accesses: AccessLog | None = None
        self.last_accesses: list | None = None  # the access log of the last sanitized run
        self.outputs: list[nat.TaskTensor] = []  # runtime allocations seen in task records
        # kept alive as long as the library may call them
        self._callback = nat.CALLBACK(self._on_task)
        self._event_callback = nat.EVENT_CALLBACK(self._on_event)

    # --- callbacks: never let an exception unwind into C++; the run turns fatal and stops ---------
    def _on_task(self, record_ptr) -> None:
        record = record_ptr.contents
        try:
            start = end = 0
            # indexing a ctypes array builds a new object each time: take the tensors once
            tensors = record.tensors[:record.tensor_count]
            if record.core_type not in (nat.DUMMY, nat.ALLOC):
                start = time.perf_counter_ns()
                self.run_task(record, tensors)
                end = time.perf_counter_ns()
            self._record(record, tensors, start, end)
        except BaseException as e:  # noqa: BLE001 (re-raised after the run)
            if self.error is None:
                self.error = e
            self.library.pto_sim_report_error(3, f"task {record.task_id}: {e}".encode(errors="replace"))

    def _on_event(self, event_ptr) -> None:
        e = event_ptr.contents
        t = e.tensor
        if e.kind in (nat.EV_READ, nat.EV_WRITE):
            addr = t.addr + _element_offset(t, e.element) * t.elem_size
            self.log.events.append(Event(EVENT_NAMES[e.kind], e.seq, addr, t.elem_size,
                                         buffer=(t.buffer_addr, t.buffer_addr + t.buffer_size)))
        else:
            self.log.events.append(Event(EVENT_NAMES[e.kind], e.seq, t.buffer_addr, t.buffer_size, e.scope_id))

    def _record(self, record: nat.TaskRecord, tensors: list, start_ns: int, end_ns: int) -> None:
        core = record.core_type
        kernel = None if core in (nat.DUMMY, nat.ALLOC) else self.kernel_name(record)
        deps = tuple(record.deps[i] for i in range(record.dep_count))
        declared = tuple((t.buffer_addr, t.buffer_addr + t.buffer_size, t.tag != nat.INPUT)
                         for t in tensors if t.tag != nat.NO_DEP)
        self.log.tasks[record.task_id] = TaskInfo(record.task_id, kernel, CORE_NAMES[core], record.block_num, deps,
                                                  self.call_loc(kernel), declared, start_ns, end_ns)
        self.log.order.append(record.task_id)
        for t in tensors:
            if t.tag == nat.OUTPUT:
                self.outputs.append(_copy(t))

    def call_loc(self, kernel: str | None) -> Loc | None:
        return self.calls[kernel].loc if kernel in self.calls else None

    def buffers_passed(self, op) -> set[Value]:
        """The orchestration buffers (parameters, create_tensor results) an op's operands may denote."""
        return {b for v in op.operands() for b in self.roots.get(v, ())}

    def workspace(self) -> nat.TaskTensor | None:
        """The runtime allocation of the last run that holds the planned workspace (alloc_tensors of
        exactly the planned size), or None when the plan needs none."""
        size = int(self.entry.attrs.get("workspace", 0))
        owners = self.log.tasks
        return next((t for t in self.outputs if size and t.buffer_size == size
                     and t.owner_task_id in owners and owners[t.owner_task_id].core == "alloc"), None)

    def kernel_name(self, record: nat.TaskRecord) -> str:
        if record.core_type != nat.MIXED:
            return self.names[record.kernel_id]
        parts = tuple(self.names[k] for k in (record.aic_kernel_id, record.aiv0_kernel_id) if k >= 0)
        return self.groups[parts]

    def run_task(self, record: nat.TaskRecord, tensors: list) -> None:
        name = self.kernel_name(record)
        if name not in self.runners:  # the kernel's interpreter, its parts, whether it takes a block index
            kernel = self.root.kernel(name)
            self.runners[name] = (kernel, [self.root.kernel(n) for n in kernel.f.attrs.get("parts", ())],
                                  any(p.direction == "block" for p in kernel.f.params))
        kernel, parts, has_block = self.runners[name]
        for k in [kernel, *parts]:
            k.observer = self.accesses
        if self.accesses is not None:
            self.accesses.task = record.task_id
        try:
            args = self.task_args(kernel.f, record, tensors)
            for blk in range(record.block_num):
                if self.accesses is not None:
                    self.accesses.block = blk
                block_args = args + ([np.int64(blk)] if has_block else [])
                _run_parts(parts, block_args) if parts else kernel.call(block_args)
        except PtoError as e:  # a user error (a dynamic index out of bounds...) keeps its class and line
            e.message += f" (in kernel `{name}`, a2a3sim task {record.task_id})"
            raise
        except Exception as e:
            raise A2a3SimError(f"kernel `{name}` (task {record.task_id}) failed: {type(e).__name__}: {e}") from e

    def base(self, t: nat.TaskTensor) -> np.ndarray:
        """The bytes of a tensor's buffer, wrapped once per run (wrapping costs more than viewing)."""
        key = (t.buffer_addr, t.buffer_size)
        if key not in self.bases:
            self.bases[key] = nat.buffer_bytes(*key)
        return self.bases[key]

    def task_args(self, f: Function, record: nat.TaskRecord, tensors: list) -> list[Any]:
        """The kernel's arguments in parameter order from the record's tensors and scalars."""
        layout = self.layouts.get(f.name)
        if layout is None:  # (is a tensor, dtype) per parameter, worked out once per kernel
            layout = self.layouts[f.name] = [(isinstance(p.value.type, TensorType), p.value.type.dtype)
                                             for p in f.params if p.direction != "block"]
        n_tensors = sum(is_tensor for is_tensor, _ in layout)
        if n_tensors != record.tensor_count or len(layout) - n_tensors != record.scalar_count:
            raise A2a3SimError(f"{f.name} takes {n_tensors} tensors and {len(layout) - n_tensors} scalars; "
                               f"the task passes {record.tensor_count} and {record.scalar_count}")
        out, ti, si = [], 0, 0
        for is_tensor, dtype in layout:
            if is_tensor:
                t = tensors[ti]
                key = (ctypes.string_at(ctypes.addressof(t), TASK_TENSOR_SIZE), dtype)
                if key not in self.views:  # tasks of a loop mostly pass the same tensors: view once
                    self.views[key] = tensor_view(t, dtype.np, self.base(t))
                out.append(self.views[key])
                ti += 1
            else:
                out.append(scalar_value(record.scalars[si], dtype))
                si += 1
        return out

    # --- a run ------------------------------------------------------------------------------------------
    def run(self, args: list[Any], options: SimOptions | None = None) -> list[np.ndarray]:
        """Runs the entry; Out/InOut arrays are written in place; returns copies of the returned tensors."""
        options = options or DEFAULT_OPTIONS
        returned = returned_sources(self.entry)
        arrays, copies_back = self._prepare(args)
        self.error, self.bases, self.log, self.outputs, self.last_accesses = None, {}, RunLog(), [], None
        self.views = {}
        self.accesses = AccessLog() if options.sanitize else None
        self.library.pto_sim_set_kernel_callback(self._callback)
        self.library.pto_sim_set_event_callback(self._event_callback)
        mode = nat.PROGRAM_ORDER if options.seed is None else nat.RANDOM
        self.library.pto_sim_set_schedule(mode, options.seed or 0)
        with collector_paused():  # the run log grows per task: full collections would make a run quadratic
            code = self._call(arrays, args)
        results = [np.array(args[r]) if isinstance(r, int) else self._workspace_tensor(r) for r in returned]
        self.bases, self.views = {}, {}  # the runtime frees its allocations now: drop every view of them
        self.library.pto_sim_free_run()
        self.library.pto_sim_get_counters(ctypes.byref(self.counters))
        for original, contiguous in copies_back:
            original[...] = contiguous
        if self.error is not None:
            raise self.error
        if code != 0:
            message = self.library.pto_sim_last_error().decode(errors="replace")
            message = re.sub(r"\(kernel (\d+)\)", lambda m: f"`{self.names.get(int(m.group(1)), m.group(1))}`", message)
            raise A2a3SimError(f"a2a3sim run of `{self.entry.name}` failed (code {code}): {message}")
        if self.accesses is not None:
            self._sanitize(arrays)
        return results

    def _workspace_tensor(self, create: ops.CreateTensor) -> np.ndarray:
        """A copy of a returned intermediate from its planned place in the workspace."""
        ws = self.workspace()
        if ws is None or create.offset is None:
            raise A2a3SimError(f"a2a3sim: the returned tensor {create.results[0].hint} has no place in the workspace")
        n = int(np.prod(create.shape)) * create.dtype.np.itemsize
        raw = nat.buffer_bytes(ws.buffer_addr + create.offset, n)
        return raw.view(create.dtype.np).reshape(create.shape).copy()

    def _sanitize(self, arrays: list[Any]) -> None:
        from .labels import BufferLabels
        labels = BufferLabels(self, arrays)
        findings = Sanitizer(self.log, self.accesses.accesses, labels.spaces(), labels.describe,
                             labels.task_name).check()
        self.last_accesses, self.accesses = self.accesses.accesses, None
        if findings:
            raise SanitizerError(findings)

    def _prepare(self, args: list[Any]) -> tuple[list[Any], list[tuple[np.ndarray, np.ndarray]]]:
        """C-contiguous arrays for the tensor arguments (written back afterwards where copied)."""
        arrays, copies_back = [], []
        for p, a in zip(self.entry.params, args):
            if isinstance(p.value.type, TensorType) and not (isinstance(a, np.ndarray) and a.flags.c_contiguous):
                c = np.ascontiguousarray(a, dtype=p.value.type.dtype.np)
                if p.direction != "in":
                    copies_back.append((a, c))
                a = c
            arrays.append(a)
        return arrays, copies_back

    def _call(self, arrays: list[Any], args: list[Any]) -> int:
        tensors = [(p, a) for p, a in zip(self.entry.params, arrays) if isinstance(p.value.type, TensorType)]
        scalars = [scalar_bits(a, p.value.type.dtype) for p, a in zip(self.entry.params, arrays)
                   if not isinstance(p.value.type, TensorType)]
        n = len(tensors)
        addrs = (ctypes.c_uint64 * max(n, 1))(*[a.ctypes.data for _, a in tensors])
        shapes = (ctypes.c_uint32 * max(n * nat.MAX_DIMS, 1))()
        for i, (_, a) in enumerate(tensors):
            shapes[i * nat.MAX_DIMS:i * nat.MAX_DIMS + a.ndim] = list(a.shape)
        ndims = (ctypes.c_uint32 * max(n, 1))(*[a.ndim for _, a in tensors])
        dtypes = (ctypes.c_uint32 * max(n, 1))(*[nat.data_type_code(p.value.type.dtype) for p, _ in tensors])
        sc = (ctypes.c_uint64 * max(len(scalars), 1))(*scalars)
        return self.library.pto_sim_run(n, addrs, shapes, ndims, dtypes, len(scalars), sc)


def _call_sites(entry: Function) -> dict[str, ops.Call]:
    """Kernel name -> the call that submits it (outlining makes one kernel per call site)."""
    return {op.kernel: op for op in entry.walk() if isinstance(op, ops.Call)}


def _copy(t: nat.TaskTensor) -> nat.TaskTensor:
    c = nat.TaskTensor()
    ctypes.pointer(c)[0] = t
    return c


def _element_offset(t: nat.TaskTensor, element: int) -> int:
    """Elements from the view origin to the row-major `element` of the view."""
    offset = 0
    for d in reversed(range(t.ndims)):
        element, i = divmod(element, t.shapes[d]) if t.shapes[d] else (element, 0)
        offset += i * t.strides[d]
    return offset


def returned_sources(entry: Function) -> list["int | ops.CreateTensor"]:
    """Where each returned tensor is after the run: an entry parameter (its index), or an
    intermediate buffer at its planned workspace offset (its create op). The orchestration returns
    nothing; the driver reads the result from memory. A returned view is not supported yet."""
    index = {p.value: i for i, p in enumerate(entry.params)}
    out: list = []
    for v in entry.body.ops[-1].values:
        root = _buffer_of(v)
        if root in index:
            out.append(index[root])
        elif isinstance(root.owner, ops.CreateTensor):
            out.append(root.owner)
        else:
            raise NotImplementedError(f"a2a3sim: `{entry.name}` returns a view ({v.hint}), not a whole tensor; "
                                      f"return the tensor, or write the view into an Out parameter")
    return out


def _buffer_of(v: Value) -> Value:
    """Follows versions of a buffer (call outputs, region results) back to the value that owns it;
    views are left alone (a returned view is not a whole parameter)."""
    while v.owner is not None:
        op = v.owner
        i = op.results.index(v)
        if isinstance(op, ops.Call):
            v = op.args[op.outs[i]]
        elif isinstance(op, (ops.InlineCall, ops.Scope, ops.If)):
            v = op.regions[0].ops[-1].values[i]
        elif isinstance(op, ops.ForLoop):
            v = op.init[i]
        else:
            return v
    return v


def run_a2a3sim(compilation, args: list[Any], options: SimOptions | None = None) -> list[np.ndarray]:
    return Simulation(compilation).run(args, options)


def simulation_of(compiled) -> Simulation:
    """The Simulation of a traced program (`Compiled`), built once: the pass pipeline, the emitted
    C++ and its library are reused by every later call with the same signature."""
    sim = getattr(compiled, "_a2a3sim", None)
    if sim is None:
        from ..passes.pipeline import compile_function
        sim = compiled._a2a3sim = Simulation(compile_function(compiled.function))
    return sim
