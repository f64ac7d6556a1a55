"""The reference interpreter: executes an IR function in program order with numpy.

It is the semantic ground truth (platform `ref`). Memory (parameters and `create_tensor` buffers)
is updated in place, so views see every write, exactly as DESIGN.md §3 defines; tiles are values
(a write into a tile produces a new array). One handler per op class.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable

import numpy as np

from ..errors import PlValueError
from ..ir import ops
from ..ir.core import Function, Op, Program, Region, Value
from ..analysis.memory import memory_values
from ..ir.types import ScalarType, TensorType
from . import numerics as N

Env = dict[Value, Any]


class Interpreter:
    def __init__(self, f: Function, program: Program | None = None):
        self.f = f
        self.program = program
        self.memory = memory_values(f)
        self.kernels: dict[str, "Interpreter"] = {}
        self._workspace: np.ndarray | None = None
        self.channels: dict = {}  # set by _run_parts for the parts of a split mixed kernel
        self.running: list[int] = [1]
        # Called as observer(op, "r"|"w", array, key) for every access to memory (a2a3sim's
        # sanitizer sets it on the kernels it runs); None costs one check per op.
        self.observer: Callable | None = None

    def workspace(self) -> np.ndarray:
        """The entry's GM workspace (bytes), sized by the memory plan."""
        if self._workspace is None:
            self._workspace = np.zeros(int(self.f.attrs.get("workspace", 0)), dtype=np.uint8)
        return self._workspace

    def kernel(self, name: str) -> "Interpreter":
        if name not in self.kernels:
            fn = next(k for k in self.program.functions if k.name == name)
            self.kernels[name] = Interpreter(fn, self.program)
        return self.kernels[name]

    def run(self, args: list[Any]) -> list[np.ndarray]:
        return [np.array(x) for x in self.call(args)]

    def call(self, args: list[Any]) -> list[Any]:
        env: Env = {}
        for p, a in zip(self.f.params, args):
            env[p.value] = a if isinstance(p.value.type, TensorType) else _scalar(a, p.value.type)
        return self.region(self.f.body, env)

    def region(self, r: Region, env: Env) -> list[Any]:
        for op in r.ops:
            if op.is_terminator:
                return [env[v] for v in op.values]
            handler = HANDLERS[type(op)]
            if self.observer is not None and not isinstance(op, NOT_PLAIN_READERS):
                self._observe_reads(op, env)
            results = handler(self, op, env)
            for v, x in zip(op.results, results):
                env[v] = x
        return []


    def _observe_reads(self, op: Op, env: Env) -> None:
        """An op reading memory operands whole (a write's destination and a gather's source are
        observed exactly by their handlers)."""
        exact = op.dst if isinstance(op, WRITERS) else op.src if isinstance(op, ops.Gather) else None
        for v in op.operands():
            if v in self.memory and v is not exact:
                self.observer(op, "r", env[v])

    def observe(self, op: Op, mode: str, array: np.ndarray, key: Any = None) -> None:
        if self.observer is not None:
            self.observer(op, mode, array, key)


def _scalar(x: Any, t: ScalarType) -> np.generic:
    if isinstance(x, np.generic) and x.dtype == t.dtype.np:  # a2a3sim's scalars already are
        return x
    return np.asarray(x).astype(t.dtype.np)[()]


def _idx(x: int | Value, env: Env) -> int:
    return x if isinstance(x, int) else int(env[x])


def _box(op: Op, shape: tuple, offsets: tuple, sizes: tuple, env: Env) -> tuple:
    """The numpy index of a static-size box at (possibly dynamic) offsets, bounds-checked.
    (On the hot path of every task of a2a3sim: one plain loop, no intermediate lists.)"""
    box = []
    for d, o in enumerate(offsets):
        if not isinstance(o, int):
            o = int(env[o])
        s = sizes[d]
        if o < 0 or o + s > shape[d]:
            raise PlValueError(f"{op.name}: index out of bounds in dim {d}: offset {o} + size {s} > {shape[d]} "
                               f"(tensor shape {list(shape)})", op.loc)
        box.append(slice(o, o + s))
    return tuple(box)


H: dict[type, Callable] = {}


def handles(*classes: type):
    def deco(fn: Callable) -> Callable:
        for c in classes:
            H[c] = fn
        return fn
    return deco


@handles(ops.CreateTensor)
def _create(it, op, env):
    """A buffer: at its planned offset in the workspace when planned (so a reuse mistake changes
    the answer), else fresh. New contents are poison (NaN, or 0xA5 bytes), never silently zero."""
    nbytes = int(np.prod(op.shape)) * op.dtype.np.itemsize
    if op.offset is not None:
        raw = it.workspace()[op.offset:op.offset + nbytes]
    else:
        raw = np.empty(nbytes, dtype=np.uint8)
    view = raw.view(op.dtype.np).reshape(op.shape)
    if op.dtype.is_float:
        view[...] = np.nan
    else:
        raw[...] = 0xA5
    return [view]


@handles(ops.Full)
def _full(it, op, env):
    return [np.full(op.shape, op.value, dtype=op.dtype.np)]


@handles(ops.Arange)
def _arange(it, op, env):
    n = int(np.prod(op.shape))
    return [(np.arange(n, dtype=np.int64) + op.start).astype(op.dtype.np).reshape(op.shape)]


@handles(ops.Const)
def _const(it, op, env):
    return [np.asarray(op.value).astype(op.dtype.np)[()]]


@handles(ops.Slice)
def _slice(it, op, env):
    src = env[op.src]
    return [src[_box(op, src.shape, op.offsets, op.sizes, env)]]


@handles(ops.Reshape)
def _reshape(it, op, env):
    src = env[op.src]
    out = src.reshape(op.shape)
    if op.src in it.memory and not np.shares_memory(out, src):
        raise PlValueError("reshape of a non-contiguous view of memory", op.loc)
    return [out]


@handles(ops.Load)
def _load(it, op, env):
    return [np.array(env[op.src])]


def _chain(v: Value) -> tuple[Value, list[Op]]:
    steps = []
    while isinstance(v.owner, (ops.Slice, ops.Reshape)):
        steps.append(v.owner)
        v = v.owner.src
    return v, steps[::-1]


def _writable_view(it: Interpreter, dst: Value, env: Env) -> tuple[np.ndarray, np.ndarray]:
    """(storage array to be the result, view of it to write into): in place for memory, a copy
    for tiles."""
    storage, steps = _chain(dst)
    if storage in it.memory:
        return env[storage], env[dst]
    root = np.array(env[storage])
    view = root
    for s in steps:
        view = view[_box(s, view.shape, s.offsets, s.sizes, env)] if isinstance(s, ops.Slice) else view.reshape(s.shape)
    return root, view


@handles(ops.Assemble)
def _assemble(it, op, env):
    root, view = _writable_view(it, op.dst, env)
    box = _box(op, view.shape, op.offsets, op.src.type.shape, env)
    view[box] = env[op.src]
    if op.dst in it.memory:
        it.observe(op, "w", view, box)
    return [root]


@handles(ops.Write)
def _write(it, op, env):
    root, view = _writable_view(it, op.dst, env)
    box = _box(op, view.shape, op.offsets, (1,) * view.ndim, env)
    view[box] = env[op.value]
    if op.dst in it.memory:
        it.observe(op, "w", view, box)
    return [root]


@handles(ops.Read)
def _read(it, op, env):
    src = env[op.src]
    box = _box(op, src.shape, op.offsets, (1,) * src.ndim, env)
    if op.src in it.memory:
        it.observe(op, "r", src, box)
    return [src[box].reshape(())[()]]


@handles(*ops.BINARY_OPS)
def _binary(it, op, env):
    return [N.binary(type(op), env[op.lhs], env[op.rhs], op.lhs.type.dtype, op.results[0].type.dtype)]


@handles(*ops.UNARY_OPS)
def _unary(it, op, env):
    return [N.unary(type(op), env[op.src], op.src.type.dtype)]


@handles(ops.Where)
def _where(it, op, env):
    return [np.where(env[op.cond], env[op.lhs], env[op.rhs]).astype(op.results[0].type.dtype.np)]


@handles(ops.Cast)
def _cast(it, op, env):
    out = N.cast(env[op.src], op.src.type.dtype, op.dtype, op.mode)
    return [out[()] if isinstance(op.results[0].type, ScalarType) else out]


@handles(*ops.REDUCE_OPS)
def _reduce(it, op, env):
    return [N.reduce(type(op), env[op.src], op.src.type.dtype)]


@handles(*ops.EXPAND_OPS)
def _expand(it, op, env):
    return [N.expand(type(op), env[op.src], env[op.vec], op.src.type.dtype)]


@handles(ops.Matmul)
def _matmul(it, op, env):
    return [N.matmul(env[op.lhs], env[op.rhs], op.a_trans, op.b_trans, op.results[0].type.dtype)]


@handles(ops.MatmulAcc)
def _matmul_acc(it, op, env):
    return [N.matmul_acc(env[op.acc], env[op.lhs], env[op.rhs], op.a_trans, op.b_trans)]


@handles(ops.ForLoop)
def _for(it, op, env):
    start, stop, step = (_idx(x, env) for x in (op.start, op.stop, op.step))
    body = op.regions[0]
    carried = [env[v] for v in op.init]
    for i in range(start, stop, step):
        env[body.args[0]] = np.int64(i)
        for a, x in zip(body.args[1:], carried):
            env[a] = x
        carried = it.region(body, env)
    return carried


@handles(ops.If)
def _if(it, op, env):
    return it.region(op.regions[0 if bool(env[op.cond]) else 1], env)


@handles(ops.At, ops.Scope, ops.InlineCall)
def _plain_region(it, op, env):
    return it.region(op.regions[0], env)


@handles(ops.Spmd)
def _spmd(it, op, env):
    body = op.regions[0]
    outs: list[Any] = []
    for blk in range(op.blocks):
        env[body.args[0]] = np.int64(blk)
        outs = it.region(body, env)
    return outs


@handles(ops.Call)
def _call(it, op, env):
    """Run a kernel task: every block in order, on the caller's arrays (kernels write in place).
    A split mixed kernel runs its AIC and AIV parts side by side, exchanging values on channels."""
    kernel = it.kernel(op.kernel)
    args = [env[a] for a in op.args]
    has_block = any(p.direction == "block" for p in kernel.f.params)
    parts = [it.kernel(name) for name in kernel.f.attrs.get("parts", ())]
    outs: list[Any] = []
    for blk in range(op.blocks):
        block_args = args + ([np.int64(blk)] if has_block else [])
        outs = _run_parts(parts, block_args) if parts else kernel.call(block_args)
    return outs


class _Channels(dict):
    """Channel id -> queue, made on first use by either part. Not a defaultdict: its check-then-
    insert lets two threads touching a new channel at once each make (and keep) their own queue, so
    one part pushed where the other never looked and both waited forever (seen on the MoE layer)."""

    def __missing__(self, channel: int) -> queue.Queue:
        return self.setdefault(channel, queue.Queue())  # atomic: both threads get the same queue


def _run_parts(parts: list["Interpreter"], args: list[Any]) -> list[Any]:
    """Each part in its own thread; pl.tpop blocks until the other part's pl.tpush arrives. The AIV
    part (the last) returns the task's results."""
    channels = _Channels()
    results: list[Any] = [None] * len(parts)
    errors: list[BaseException] = []
    running = [len(parts)]  # parts still running: a pop that nobody can push to any more fails
    lock = threading.Lock()

    def body(i: int, part: "Interpreter") -> None:
        try:
            part.channels, part.running = channels, running
            results[i] = part.call(list(args))
        except BaseException as e:  # surfaced in the caller's thread
            errors.append(e)
        finally:
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=body, args=(i, p), daemon=True) for i, p in enumerate(parts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # no time limit: a machine under load is slow, a real deadlock is detected in _tpop
    if errors:
        raise errors[0]
    return results[-1]


@handles(ops.TPush)
def _tpush(it, op, env):
    it.channels[op.channel].put(env[op.value])
    return []


@handles(ops.TPop)
def _tpop(it, op, env):
    """Wait for the other part's push; fail once no other part is left to push it."""
    channel = it.channels[op.channel]
    while True:
        try:
            return [channel.get(timeout=0.2)]
        except queue.Empty:
            if it.running[0] <= 1 and channel.empty():
                raise RuntimeError(f"{it.f.name}: nothing can arrive on channel {op.channel} any more "
                                   f"({op.loc}): the other part has finished") from None


from . import indexed  # noqa: E402,F401  (registers the gather/scatter/topk handlers)

# Ops that do not read their memory operands whole: views, regions (their body ops do the
# accesses), and the ones whose handler observes the exact elements.
NOT_PLAIN_READERS = (ops.Slice, ops.Reshape, ops.Read, ops.ForLoop, ops.If, ops.At, ops.Scope,
                     ops.InlineCall, ops.Spmd, ops.Call,
                     ops.TPush)  # pushing a memory version hands over a handle (an ordering), not its bytes
WRITERS = (ops.Assemble, ops.Write, ops.Scatter)  # their `dst` is written, not read

HANDLERS = H


def run_function(f: Function, args: list[Any]) -> list[np.ndarray]:
    return Interpreter(f).run(args)


def run_program(program: Program, args: list[Any]) -> list[np.ndarray]:
    return Interpreter(program.entry, program).run(args)
