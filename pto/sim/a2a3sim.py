"""Platform `a2a3sim` (DESIGN.md §7), first slice: runs the emitted orchestration C++ against
runtime/src/runtime.cpp, with each task's kernel run by the numpy interpreter on zero-copy views of
the task's host memory.

The orchestration and the runtime are linked into one shared library (g++, cached by the sha256 of
the sources), loaded with ctypes. The runtime calls back into Python once per kernel task with a
`TaskRecord` (runtime/include/pto_sim.h). Schedule: program order (the runtime runs each task at
submit). Not yet: seeded schedules, the sanitizer, scope release, traces (see runtime.cpp SEAMs).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from ..codegen.cpp_scalar import DATA_TYPES
from ..codegen.orchestration import emit_orchestration, kernel_ids
from ..ir import ops
from ..ir.core import Function, Value
from ..ir.types import TensorType
from .interpreter import Interpreter, _run_parts

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = ROOT / "runtime" / "include"
RUNTIME_SOURCES = (ROOT / "runtime" / "src" / "runtime.cpp", INCLUDE / "pto_orchestration.h", INCLUDE / "pto_sim.h")
CXXFLAGS = ["-std=c++17", "-O1", "-fPIC", "-fvisibility=hidden"]
# DataType enumerators of pto_orchestration.h, in declaration order (the value is the index).
DATA_TYPE_ENUM = ["FLOAT32", "FLOAT16", "INT32", "INT16", "INT8", "UINT8", "BFLOAT16", "INT64", "UINT64",
                  "UINT16", "UINT32", "BOOL", "FP8E4M3FN", "FP8E5M2"]
MAX_DIMS, MAX_TENSORS, MAX_SCALARS = 5, 32, 16
AIV, AIC, MIXED = 0, 1, 2


class A2a3SimError(RuntimeError):
    """The simulated run failed: a kernel raised, or the orchestration misused the runtime API."""


# --- the ctypes mirror of pto_sim.h -----------------------------------------------------------------
class TaskTensor(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("buffer_addr", ctypes.c_uint64), ("buffer_size", ctypes.c_uint64),
                ("start_offset", ctypes.c_uint64), ("owner_task_id", ctypes.c_uint64), ("tag", ctypes.c_uint32),
                ("dtype", ctypes.c_uint32), ("elem_size", ctypes.c_uint32), ("ndims", ctypes.c_uint32),
                ("shapes", ctypes.c_uint32 * MAX_DIMS), ("strides", ctypes.c_uint32 * MAX_DIMS)]


class TaskRecord(ctypes.Structure):
    _fields_ = [("task_id", ctypes.c_uint64), ("core_type", ctypes.c_int32), ("kernel_id", ctypes.c_int32),
                ("aic_kernel_id", ctypes.c_int32), ("aiv0_kernel_id", ctypes.c_int32),
                ("aiv1_kernel_id", ctypes.c_int32), ("block_num", ctypes.c_int32), ("tensor_count", ctypes.c_int32),
                ("scalar_count", ctypes.c_int32), ("tensors", TaskTensor * MAX_TENSORS),
                ("scalars", ctypes.c_uint64 * MAX_SCALARS), ("dep_count", ctypes.c_uint32),
                ("deps", ctypes.POINTER(ctypes.c_uint64))]


class Counters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("tasks_submitted", "kernel_tasks", "dummy_tasks",
                                                       "alloc_tasks", "bytes_allocated", "max_scope_depth")]


CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(TaskRecord))


# --- building ---------------------------------------------------------------------------------------
def cache_dir() -> Path:
    d = Path(os.environ.get("PTO_SIM_CACHE") or Path.home() / ".cache" / "pto" / "a2a3sim")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())  # length-safe concatenation
    return h.hexdigest()[:24]


def _gxx(args: list[str], what: str) -> None:
    r = subprocess.run(["g++", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise A2a3SimError(f"g++ failed on {what}:\n{r.stderr}")


def _publish(path: Path, build) -> Path:
    """Build into a temporary name, then rename: concurrent runs never load a half-written file."""
    if not path.exists():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        build(tmp)
        os.replace(tmp, path)
    return path


def runtime_object() -> Path:
    """runtime.cpp compiled once per source hash (linking is the only per-program step)."""
    key = _sha(*(p.read_bytes() for p in RUNTIME_SOURCES), " ".join(CXXFLAGS).encode())
    src = RUNTIME_SOURCES[0]
    return _publish(cache_dir() / f"runtime-{key}.o",
                    lambda tmp: _gxx([*CXXFLAGS, "-I", str(INCLUDE), "-c", str(src), "-o", str(tmp)], "runtime.cpp"))


def build_library(orchestration: str) -> Path:
    """The shared library of one orchestration text linked with the runtime (cached)."""
    runtime = runtime_object()
    key = _sha(orchestration.encode(), runtime.name.encode())
    d = cache_dir()

    def build(tmp: Path) -> None:
        src = tmp.with_suffix(".cpp")  # private to this build; kept next to the .so for reading
        src.write_text(orchestration)
        _gxx([*CXXFLAGS, "-shared", "-I", str(INCLUDE), str(src), str(runtime), "-o", str(tmp)], "the orchestration")
        os.replace(src, d / f"orch-{key}.cpp")

    return _publish(d / f"orch-{key}.so", build)


def load_library(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    u64p, u32p = ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint32)
    lib.pto_sim_run.argtypes = [ctypes.c_int32, u64p, u32p, u32p, u32p, ctypes.c_int32, u64p]
    lib.pto_sim_run.restype = ctypes.c_int
    lib.pto_sim_set_kernel_callback.argtypes = [CALLBACK]
    lib.pto_sim_report_error.argtypes = [ctypes.c_int, ctypes.c_char_p]
    lib.pto_sim_last_error.restype = ctypes.c_char_p
    lib.pto_sim_get_counters.argtypes = [ctypes.POINTER(Counters)]
    return lib


# --- values across the boundary ---------------------------------------------------------------------
def data_type_code(dtype) -> int:
    return DATA_TYPE_ENUM.index(DATA_TYPES[dtype.name])


def scalar_bits(value: Any, dtype) -> int:
    raw = np.asarray(value).astype(dtype.np).reshape(1).view(np.uint8).tobytes()
    return int.from_bytes(raw, "little")


def scalar_value(bits: int, dtype) -> np.generic:
    raw = int(bits).to_bytes(8, "little")[:dtype.np.itemsize]
    return np.frombuffer(raw, dtype=dtype.np)[0]


def buffer_bytes(addr: int, size: int) -> np.ndarray:
    """A uint8 array over `size` bytes of host memory at `addr` (no copy)."""
    return np.ctypeslib.as_array((ctypes.c_uint8 * max(size, 1)).from_address(addr))[:size]


def tensor_view(t: TaskTensor, dtype: np.dtype, base: np.ndarray) -> np.ndarray:
    """A numpy array over the task's memory (`base`: its whole buffer): the view's shape and
    strides, no copy. numpy checks that the view stays inside the buffer."""
    item = np.dtype(dtype).itemsize
    if t.elem_size != item:
        raise A2a3SimError(f"a tensor argument of {t.elem_size}-byte elements for a {np.dtype(dtype)} parameter")
    n = t.ndims
    shape = tuple(t.shapes[:n])
    if 0 in shape:
        return np.empty(shape, dtype)
    strides = tuple(s * item for s in t.strides[:n])
    return np.ndarray(shape, dtype, buffer=base, offset=t.start_offset * item, strides=strides)


# --- running ------------------------------------------------------------------------------------------
class Simulation:
    """One compiled entry on a2a3sim: `run(args)` may be called repeatedly; `counters` is the
    runtime's count of the last run."""

    def __init__(self, compilation):
        self.program = compilation.program
        self.entry: Function = self.program.entry
        self.library = load_library(build_library(emit_orchestration(compilation)))
        self.names = {i: name for name, i in kernel_ids(self.program).items()}
        self.groups = {tuple(f.attrs["parts"]): f.name for f in self.program.functions[1:] if f.attrs.get("parts")}
        self.root = Interpreter(self.entry, self.program)
        self.error: BaseException | None = None
        self.bases: dict[tuple[int, int], np.ndarray] = {}  # buffer -> its bytes, for the current run
        self.counters = Counters()
        self._callback = CALLBACK(self._on_task)  # kept alive as long as the library may call it
        self.library.pto_sim_set_kernel_callback(self._callback)

    # the callback: never lets an exception unwind into C++; the run turns fatal and stops
    def _on_task(self, record_ptr) -> None:
        record = record_ptr.contents
        try:
            self.run_task(record)
        except BaseException as e:  # noqa: BLE001 (re-raised after the run)
            if self.error is None:
                self.error = e
            self.library.pto_sim_report_error(3, f"task {record.task_id}: {e}".encode(errors="replace"))

    def kernel_name(self, record: TaskRecord) -> str:
        if record.core_type != MIXED:
            return self.names[record.kernel_id]
        parts = tuple(self.names[k] for k in (record.aic_kernel_id, record.aiv0_kernel_id) if k >= 0)
        return self.groups[parts]

    def run_task(self, record: TaskRecord) -> None:
        name = self.kernel_name(record)
        kernel = self.root.kernel(name)
        try:
            args = self.task_args(kernel.f, record)
            has_block = any(p.direction == "block" for p in kernel.f.params)
            parts = [self.root.kernel(n) for n in kernel.f.attrs.get("parts", ())]
            for blk in range(record.block_num):
                block_args = args + ([np.int64(blk)] if has_block else [])
                _run_parts(parts, block_args) if parts else kernel.call(block_args)
        except Exception as e:
            raise A2a3SimError(f"kernel `{name}` (task {record.task_id}) failed: {type(e).__name__}: {e}") from e

    def base(self, t: TaskTensor) -> np.ndarray:
        """The bytes of a tensor's buffer, wrapped once per run (wrapping costs more than viewing)."""
        key = (t.buffer_addr, t.buffer_size)
        if key not in self.bases:
            self.bases[key] = buffer_bytes(*key)
        return self.bases[key]

    def task_args(self, f: Function, record: TaskRecord) -> list[Any]:
        """The kernel's arguments in parameter order from the record's tensors and scalars."""
        params = [p for p in f.params if p.direction != "block"]
        tensors = [p for p in params if isinstance(p.value.type, TensorType)]
        if len(tensors) != record.tensor_count or len(params) - len(tensors) != record.scalar_count:
            raise A2a3SimError(f"{f.name} takes {len(tensors)} tensors and {len(params) - len(tensors)} scalars; "
                               f"the task passes {record.tensor_count} and {record.scalar_count}")
        out, ti, si = [], 0, 0
        for p in params:
            if isinstance(p.value.type, TensorType):
                t = record.tensors[ti]
                out.append(tensor_view(t, p.value.type.dtype.np, self.base(t)))
                ti += 1
            else:
                out.append(scalar_value(record.scalars[si], p.value.type.dtype))
                si += 1
        return out

    def run(self, args: list[Any]) -> list[np.ndarray]:
        """Runs the entry; Out/InOut arrays are written in place; returns copies of the returned tensors."""
        returned = returned_params(self.entry)
        arrays, copies_back = self._prepare(args)
        self.error, self.bases = None, {}
        code = self._call(arrays, args)
        self.bases = {}  # the runtime freed its allocations: drop every view of them
        self.library.pto_sim_get_counters(ctypes.byref(self.counters))
        for original, contiguous in copies_back:
            original[...] = contiguous
        if self.error is not None:
            raise self.error
        if code != 0:
            raise A2a3SimError(f"a2a3sim run of `{self.entry.name}` failed (code {code}): "
                               f"{self.library.pto_sim_last_error().decode(errors='replace')}")
        return [np.array(args[i]) for i in returned]

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
        shapes = (ctypes.c_uint32 * max(n * MAX_DIMS, 1))()
        for i, (_, a) in enumerate(tensors):
            shapes[i * MAX_DIMS:i * MAX_DIMS + a.ndim] = list(a.shape)
        ndims = (ctypes.c_uint32 * max(n, 1))(*[a.ndim for _, a in tensors])
        dtypes = (ctypes.c_uint32 * max(n, 1))(*[data_type_code(p.value.type.dtype) for p, _ in tensors])
        sc = (ctypes.c_uint64 * max(len(scalars), 1))(*scalars)
        return self.library.pto_sim_run(n, addrs, shapes, ndims, dtypes, len(scalars), sc)


def returned_params(entry: Function) -> list[int]:
    """The parameter index of each returned tensor. The orchestration returns nothing, so a result
    must be (a version of) a whole entry parameter; anything else is not supported yet."""
    index = {p.value: i for i, p in enumerate(entry.params)}
    out = []
    for v in entry.body.ops[-1].values:
        root = _buffer_of(v)
        if root not in index:
            raise NotImplementedError(f"a2a3sim: `{entry.name}` returns a tensor that is not an entry parameter "
                                      f"({v.hint}); the emitted orchestration has no way to hand it back yet")
        out.append(index[root])
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


def run_a2a3sim(compilation, args: list[Any]) -> list[np.ndarray]:
    return Simulation(compilation).run(args)
