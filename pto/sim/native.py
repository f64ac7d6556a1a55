"""The native half of a2a3sim: builds runtime/ and an emitted orchestration into one shared library
(g++, cached by the sha256 of the sources) and mirrors runtime/include/pto_sim.h in ctypes.

The mirror is a line-by-line copy of the C structs; the constants are the C enumerators.
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


class A2a3SimError(RuntimeError):
    """The simulated run failed: a kernel raised, the orchestration misused the runtime API, or the
    sanitizer found a fault."""


ROOT = Path(__file__).resolve().parents[2]
INCLUDE = ROOT / "runtime" / "include"
RUNTIME_SRC = ROOT / "runtime" / "src"
CXXFLAGS = ["-std=c++17", "-O1", "-fPIC", "-fvisibility=hidden"]
# DataType enumerators of pto_orchestration.h, in declaration order (the value is the index).
DATA_TYPE_ENUM = ["FLOAT32", "FLOAT16", "INT32", "INT16", "INT8", "UINT8", "BFLOAT16", "INT64", "UINT64",
                  "UINT16", "UINT32", "BOOL", "FP8E4M3FN", "FP8E5M2"]
MAX_DIMS, MAX_TENSORS, MAX_SCALARS = 5, 32, 16
AIV, AIC, MIXED, DUMMY, ALLOC = 0, 1, 2, 3, 4            # TaskRecord.core_type
INPUT, OUTPUT, INOUT, OUTPUT_EXISTING, NO_DEP = range(5)  # TaskTensor.tag
EV_READ, EV_WRITE, EV_SCOPE_END, EV_RELEASE = range(4)   # Event.kind
PROGRAM_ORDER, RANDOM = 0, 1                             # pto_sim_set_schedule


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


class Event(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int32), ("seq", ctypes.c_uint64), ("tensor", TaskTensor),
                ("element", ctypes.c_uint64), ("scope_id", ctypes.c_uint64)]


CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(TaskRecord))
EVENT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(Event))


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


def runtime_sources() -> list[Path]:
    return sorted(RUNTIME_SRC.glob("*.cpp")) + sorted(RUNTIME_SRC.glob("*.h")) + sorted(INCLUDE.glob("*.h"))


def runtime_object() -> Path:
    """The runtime compiled once per source hash into one relocatable object (linking is the only
    per-program step)."""
    key = _sha(*(p.read_bytes() for p in runtime_sources()), " ".join(CXXFLAGS).encode())

    def build(tmp: Path) -> None:
        objects = []
        for src in sorted(RUNTIME_SRC.glob("*.cpp")):
            obj = tmp.with_name(f"{tmp.name}.{src.stem}.o")
            _gxx([*CXXFLAGS, "-I", str(INCLUDE), "-c", str(src), "-o", str(obj)], src.name)
            objects.append(obj)
        r = subprocess.run(["ld", "-r", *map(str, objects), "-o", str(tmp)], capture_output=True, text=True)
        for obj in objects:
            obj.unlink()
        if r.returncode != 0:
            raise A2a3SimError(f"linking the runtime objects failed:\n{r.stderr}")

    return _publish(cache_dir() / f"runtime-{key}.o", build)


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
    lib.pto_sim_set_event_callback.argtypes = [EVENT_CALLBACK]
    lib.pto_sim_set_schedule.argtypes = [ctypes.c_int32, ctypes.c_uint64]
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


