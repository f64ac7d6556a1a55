"""outline: every kernel region becomes a kernel function and a `pl.call` task.

Requires: a traced entry function (regions `pl.at`, `pl.spmd`; tile ops anywhere).
Produces: a program whose first function is the orchestration: loops, branches, scopes, scalar
work, buffer creation, views, scalar tensor access (`pl.read`/`pl.write` on memory) and `pl.call`s.
Every other function is a kernel (attrs `core` = aiv | aic | mixed, `blocks`) whose parameters are
whole buffers (direction in / out / inout), scalars, and for SPMD kernels the block index
(direction "block"); a kernel returns the final versions of its out/inout buffers.

Implicit kernels: a run of consecutive tile ops written outside any `pl.at` becomes one kernel.
A tile that one kernel computes and something outside it uses is materialized: the orchestration
creates a buffer for it, the producing kernel writes it there, and users read the buffer. Tiles an
orchestration loop carries, or an orchestration `if` yields, first get one buffer made before the
loop or branch (each iteration / arm stores into it), so the orchestration threads buffers only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..analysis.memory import WRITES, buffer_roots, ops_roots
from ..errors import PlSyntaxError
from ..ir.cleanup import eliminate_dead_code
from ..ir import ops
from ..ir.core import Function, Op, Param, Program, Region, Value
from ..ir.types import INDEX, Loc, ScalarType, TensorType

NAME = "outline"

COMPUTE = (ops.Binary, ops.Unary, ops.Where, ops.Cast, ops.Reduce, ops.Expand, ops.Matmul, ops.MatmulAcc,
           ops.TopK)
CUBE = (ops.Matmul, ops.MatmulAcc)


def run(c):
    c.program = outline_program(c.program)
    return c


def outline_program(program: Program) -> Program:
    entry = program.entry
    _dissolve_inline_calls(entry.body)
    _copy_returned_views(entry)
    _demote_carried_tiles(entry.body, set(buffer_roots(entry)))
    outliner = _Outliner(entry)
    outliner.region(entry.body)
    entry.attrs = {**entry.attrs, "role": "orchestration"}
    eliminate_dead_code(entry)  # views whose only users moved into kernels
    return Program([entry] + outliner.kernels)


@dataclass
class _Group:
    """The ops that become one kernel, and how it is submitted."""

    ops: list[Op]
    name: str
    blocks: int = 1
    block_arg: Value | None = None
    yields: tuple[Value, ...] = ()      # region kernels: what the region yields ...
    results: list[Value] = field(default_factory=list)  # ... and the values that stood for them
    loc: Loc | None = None  # where the task is submitted (the region's line, else the first op's)
    term: Op | None = None  # region kernels: the region's yield (its uses are the `yields` above)


class _Outliner:
    def __init__(self, f: Function):
        self.roots = buffer_roots(f)
        self.memory = set(self.roots)
        self.users = op_users(f.body)
        self.kernels: list[Function] = []
        self.names: set[str] = {f.name}  # kernel names never shadow the entry
        self.subst: dict[Value, Value] = {}
        self.loops: list[Op] = []  # the orchestration loops around the ops being outlined, outermost first
        self.hoisted: dict[Op, list[Op]] = {}  # loop -> ops that go right before it

    # --- walking the orchestration -----------------------------------------------------------
    def region(self, region: Region) -> None:
        out: list[Op] = []
        group: list[Op] = []
        for op in region.ops:
            tile = self.is_tile_op(op)
            if not tile and group and self.can_hoist(op, group):
                op.replace_operands(self.subst)
                out.append(op)  # index math and views do not split an implicit kernel
                continue
            if not tile:
                out += self.flush(group)  # first: it may substitute this op's operands
            op.replace_operands(self.subst)
            if isinstance(op, (ops.At, ops.Spmd)):
                out += self.kernel_region(op)
            elif tile:
                group.append(op)
            else:
                self.loops += [op] if isinstance(op, ops.ForLoop) else []
                for r in op.regions:
                    self.region(r)
                self.loops = [lp for lp in self.loops if lp is not op]
                out += self.hoisted.pop(op, [])
                out.append(op)
        region.ops = out

    def flush(self, group: list[Op]) -> list[Op]:
        if not group:
            return []
        ops_ = list(group)
        group.clear()
        name = self.fresh(f"implicit_{ops_[0].loc.line}")
        return self.outline(_Group(ops_, name))

    def kernel_region(self, op: Op) -> list[Op]:
        body = op.regions[0]
        blocks, block_arg = (op.blocks, body.args[0]) if isinstance(op, ops.Spmd) else (1, None)
        kind = "spmd" if isinstance(op, ops.Spmd) else "at"
        hint = op.name_hint or f"{kind}_{op.loc.line}"
        for inner in body.walk():
            inner.replace_operands(self.subst)
            if isinstance(inner, (ops.At, ops.Spmd)):
                raise PlSyntaxError(f"{inner.name} inside another kernel region ({op.name} at {op.loc}); "
                                    f"kernels do not nest", inner.loc)
        # what the region yields and nothing uses is not an output (a scalar read in a pl.at in an arm
        # of an if is yielded by the tracer even when its name is dead after the if)
        used = [(y, r) for y, r in zip(body.ops[-1].values, op.results) if self.users.get(r)]
        group = _Group(body.ops[:-1], self.fresh(hint), blocks, block_arg, tuple(y for y, _ in used),
                       [r for _, r in used], op.loc, body.ops[-1])
        return self.outline(group)

    def can_hoist(self, op: Op, group: list[Op]) -> bool:
        """Pure orchestration ops (constants, scalar math, views) that use nothing the pending
        group defines may move ahead of its kernel call."""
        pure = isinstance(op, (ops.Const, ops.Slice, ops.Reshape, ops.CreateTensor)) or (
            isinstance(op, COMPUTE) and isinstance(op.results[0].type, ScalarType))
        if not pure or op.regions:
            return False
        pending = {r for g in group for r in g.results}
        return not any(v in pending or self.subst.get(v) in pending for v in op.operands())

    def is_tile_op(self, op: Op) -> bool:
        if isinstance(op, COMPUTE):
            return isinstance(op.results[0].type, TensorType)
        if isinstance(op, (ops.Full, ops.Arange, ops.Load, ops.Assemble, ops.Gather, ops.Scatter)):
            return True
        if isinstance(op, (ops.Slice, ops.Reshape)):
            return op.src not in self.memory
        if isinstance(op, ops.Read):
            return op.src not in self.memory
        if isinstance(op, ops.Write):
            return op.dst not in self.memory
        return False

    def fresh(self, hint: str) -> str:
        base = re.sub(r"\W", "_", hint) or "kernel"
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name

    # --- building one kernel -----------------------------------------------------------------
    def outline(self, g: _Group) -> list[Op]:
        defined = _defined(g.ops) | ({g.block_arg} if g.block_arg else set())
        escaping = self.escaping(g, defined)
        k = _KernelBuilder(g, self.memory)
        for v in _captured(g.ops, defined):
            k.capture(v)
        pre: list[Op] = []
        written = {b for op in _all_ops(g.ops) if isinstance(op, WRITES) for b in self.buffers_of(op.dst)}
        blocks: dict[Value, tuple] = {}  # materialized tile -> its offsets in a per-iteration workspace
        for v in escaping:
            if v in self.memory and self.buffers_of(v) <= written:
                continue  # a version of a buffer the kernel writes: the call's result stands for it
            if isinstance(v.type, ScalarType):
                raise PlSyntaxError("a scalar computed inside a kernel is used outside it; compute it in "
                                    "the orchestration, or write it to a tensor and pl.read it", v.owner.loc)
            pre += self.workspace(v, k, blocks)
        kernel = k.finish(self.kernels_core(g.ops))
        self.kernels.append(kernel)
        call = ops.Call(loc=g.loc or g.ops[0].loc, kernel=g.name, args=tuple(k.args),
                        blocks=g.blocks, outs=tuple(k.outs))
        call.results = [Value(k.args[i].type, k.arg_hint(i), owner=call) for i in k.outs]
        post: list[Op] = []
        for v in escaping:
            self.subst[v] = call.results[k.result_index(v)]
            if v in blocks:  # users read this iteration's block of the workspace
                view = _build(ops.Slice(loc=v.owner.loc, src=self.subst[v], offsets=blocks[v], sizes=v.type.shape),
                              self.subst[v].hint)
                post.append(view)
                self.subst[v] = view.results[0]
        for stand_in, v in zip(g.results, g.yields):
            self.subst[stand_in] = self.subst.get(v, v) if v in defined else v
        for i, r in zip(k.outs, call.results):  # a call's result is a version of its argument's buffers
            self.roots[r] = self.roots.get(k.args[i], frozenset())
        for view in post:
            self.roots[view.results[0]] = self.roots[view.src]
        self.memory.update(call.results)
        self.memory.update(self.subst[v] for v in escaping)
        return pre + [call] + post

    def workspace(self, tile: Value, k: "_KernelBuilder", blocks: dict) -> list[Op]:
        """Store `tile` (computed by kernel `k`, used by later tasks) in an orchestration buffer;
        returns the ops that go before the call.

        Normally the buffer is created right before the call. Inside a pl.parallel loop such a buffer
        would be one buffer (one offset) shared by the concurrent iterations, which would race on it;
        there the buffer is created before the outermost enclosing pl.parallel loop with one block of
        rows for each iteration of it and of the loops inside it, and each iteration uses its own
        block (the disjointness the dependency analysis proves for user code written that way).
        """
        loc, t = tile.owner.loc, tile.type
        hint = (tile.hint or "tmp") + "_ws"
        terms = self.iteration_terms()
        if terms is None:
            create = _build(ops.CreateTensor(loc=loc, shape=t.shape, dtype=t.dtype), hint)
            self.roots[create.results[0]] = frozenset(create.results)
            k.materialize(tile, create.results[0], (0,) * len(t.shape))
            return [create]
        count = terms[0][1] * terms[0][0].stop  # the outermost loop's stride times its stop
        shape = (t.shape[0] * count,) + tuple(t.shape[1:])
        create = _build(ops.CreateTensor(loc=loc, shape=shape, dtype=t.dtype), hint)
        self.roots[create.results[0]] = frozenset(create.results)
        self.hoisted.setdefault(terms[0][0], []).append(create)
        pre, row = _row_offset(terms, t.shape[0], loc)
        blocks[tile] = (row,) + (0,) * (len(t.shape) - 1)
        k.materialize(tile, create.results[0], blocks[tile])
        return pre

    def iteration_terms(self) -> list[tuple[Op, int]] | None:
        """(loop, stride) for the outermost enclosing pl.parallel loop and every loop inside it, such that
        sum(index * stride) numbers their iterations without collisions; None outside pl.parallel or
        when a bound is not a compile-time int (the loop is then rejected by the dependency analysis)."""
        first = next((i for i, lp in enumerate(self.loops) if lp.kind == "parallel"), None)
        if first is None:
            return None
        loops = self.loops[first:]
        if not all(isinstance(x, int) for lp in loops for x in (lp.start, lp.stop, lp.step)) or \
                any(lp.start < 0 or lp.stop <= 0 for lp in loops):
            return None
        terms, stride = [], 1
        for lp in reversed(loops):
            terms.insert(0, (lp, stride))
            stride *= lp.stop
        return terms

    def buffers_of(self, v: Value) -> frozenset[Value]:
        """The orchestration buffers `v` may denote, through views made since the analysis ran."""
        while v not in self.roots and isinstance(v.owner, (ops.Slice, ops.Reshape)):
            v = v.owner.src
        return self.roots.get(v, frozenset())

    def escaping(self, g: _Group, defined: set[Value]) -> list[Value]:
        """Values defined by the group (not inside its nested regions) used outside it."""
        inside = set(_all_ops(g.ops)) | {g.term}
        top = [r for op in g.ops for r in op.results]
        out = [v for v in top if any(u not in inside for u in self.users.get(v, ()))]
        out += [v for v in g.yields if v in defined and v not in out]
        return out

    @staticmethod
    def kernels_core(body: list[Op]) -> str:
        cube = any(isinstance(op, CUBE) for op in _all_ops(body))
        vector = any(isinstance(op, COMPUTE) and not isinstance(op, CUBE) and isinstance(op.results[0].type, TensorType)
                     for op in _all_ops(body))  # index arithmetic runs on either core
        return "mixed" if cube and vector else "aic" if cube else "aiv"


class _KernelBuilder:
    """Parameters, body and results of one kernel function."""

    def __init__(self, g: _Group, memory: set[Value]):
        self.g = g
        self.memory = memory
        self.params: list[Param] = []
        self.args: list[Value] = []       # orchestration values passed, one per non-block param
        self.outs: list[int] = []
        self.inner: dict[Value, Value] = {}  # orchestration value -> kernel value
        self.prologue: list[Op] = []
        self.epilogue: list[Op] = []
        self.materialized: dict[Value, int] = {}

    def capture(self, v: Value) -> Value:
        if v in self.inner:
            return self.inner[v]
        if v in self.memory and isinstance(v.owner, (ops.Slice, ops.Reshape)):
            base = self.capture(v.owner.src)
            clone = _clone_view(v.owner, base, self)
            self.prologue.append(clone)
            self.inner[v] = clone.results[0]
            return clone.results[0]
        p = Value(v.type, v.hint or f"a{len(self.params)}")
        self.params.append(Param(p, "in"))
        self.args.append(v)
        self.inner[v] = p
        return p

    def materialize(self, tile: Value, buffer: Value, offsets: tuple) -> None:
        """The kernel stores `tile`, which others use, at `offsets` of the orchestration `buffer`."""
        inner_offsets = tuple(x if isinstance(x, int) else self.capture(x) for x in offsets)
        p = Value(buffer.type, buffer.hint)
        self.params.append(Param(p, "out"))
        self.args.append(buffer)
        self.inner[buffer] = p
        store = ops.Assemble(loc=tile.owner.loc, dst=p, src=tile, offsets=inner_offsets)
        store.results = [Value(buffer.type, p.hint + ".1", owner=store)]
        self.epilogue.append(store)
        self.materialized[tile] = len(self.args) - 1

    def finish(self, core: str) -> Function:
        body_ops = self.prologue + self.g.ops + self.epilogue
        mapping = dict(self.inner)
        for op in _all_ops(body_ops):
            op.replace_operands(mapping)
        finals = _final_versions(self, body_ops)
        for i, p in enumerate(self.params):
            if p.direction == "in":
                p.direction = _direction(p.value, body_ops)
        for i, p in enumerate(self.params):
            if p.direction in ("out", "inout"):
                self.outs.append(i)
        ret = ops.Return(loc=self.g.loc or self.g.ops[0].loc, values=tuple(finals[i] for i in self.outs))
        params = list(self.params)
        if self.g.block_arg is not None:
            params.append(Param(self.g.block_arg, "block"))
        attrs = {"role": "kernel", "core": core, "blocks": self.g.blocks}
        return Function(self.g.name, params, Region([], body_ops + [ret]), [v.type for v in ret.values], attrs)

    def arg_hint(self, i: int) -> str | None:
        return self.args[i].hint

    def result_index(self, v: Value) -> int:
        """Which call result stands for the escaping value `v`."""
        if v in self.materialized:
            return self.outs.index(self.materialized[v])
        roots = self._roots_in_kernel(v)
        for k, i in enumerate(self.outs):
            if self.params[i].value in roots:
                return k
        raise AssertionError(f"escaping value {v!r} is not an output of kernel {self.g.name}")

    def _roots_in_kernel(self, v: Value) -> set[Value]:
        seen, todo = set(), [v]
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            if x.owner is not None and isinstance(x.owner, WRITES):
                todo.append(x.owner.dst)
            elif x.owner is not None and isinstance(x.owner, (ops.Slice, ops.Reshape)):
                todo.append(x.owner.src)
            elif x.owner is not None and x.owner.regions:
                idx = x.owner.results.index(x)
                for r in x.owner.regions:
                    todo.append(r.ops[-1].values[idx])
                if isinstance(x.owner, ops.ForLoop):
                    todo.append(x.owner.init[idx])
        return seen


def _clone_view(op: Op, base: Value, k: _KernelBuilder) -> Op:
    if isinstance(op, ops.Slice):
        offsets = tuple(x if isinstance(x, int) else k.capture(x) for x in op.offsets)
        clone = ops.Slice(loc=op.loc, src=base, offsets=offsets, sizes=op.sizes)
    else:
        clone = ops.Reshape(loc=op.loc, src=base, shape=op.shape)
    clone.results = [Value(op.results[0].type, op.results[0].hint, owner=clone)]
    return clone


def _final_versions(k: _KernelBuilder, body: list[Op]) -> dict[int, Value]:
    """Param index -> the kernel value holding its last version (top level of the body)."""
    finals = {i: p.value for i, p in enumerate(k.params)}
    index_of = {p.value: i for i, p in enumerate(k.params)}
    for op in body:
        if isinstance(op, (ops.Slice, ops.Reshape)):
            continue  # a view of a version is not a new version (found by the fuzzer)
        for r in op.results:
            roots = k._roots_in_kernel(r) & set(index_of)
            for root in roots:
                finals[index_of[root]] = r
    return finals


def _direction(p: Value, body: list[Op]) -> str:
    """in / out / inout from how the kernel uses buffer parameter `p` and what derives from it."""
    derived, reads, writes = {p}, False, False
    for op in _all_ops(body):
        for key, kind in op.fields.items():
            val = getattr(op, key)
            vals = val if isinstance(val, tuple) else (val,)
            for x in vals:
                if not isinstance(x, Value) or x not in derived:
                    continue
                if isinstance(op, WRITES) and key == "dst":
                    writes = True
                    reads |= getattr(op, "reduce", None) is not None  # scatter-add reads dst too
                    derived.update(op.results)
                elif isinstance(op, (ops.Slice, ops.Reshape)):
                    derived.update(op.results)
                elif isinstance(op, (ops.ForLoop,)) and key == "init":
                    i = op.init.index(x)
                    derived.add(op.regions[0].args[1 + i])
                    derived.add(op.results[i])
                elif isinstance(op, (ops.Yield, ops.Return)):
                    owner = _owner_of_yield(op, body)
                    if owner is not None:
                        derived.update(r for r, y in zip(owner.results, op.values) if y in derived)
                else:
                    reads = True
    return "inout" if reads and writes else "out" if writes else "in"


def _owner_of_yield(term: Op, body: list[Op]) -> Op | None:
    for op in _all_ops(body):
        if any(r.ops and r.ops[-1] is term for r in op.regions):
            return op
    return None


def _all_ops(body: list[Op]):
    for op in body:
        yield op
        for r in op.regions:
            yield from r.walk()


def _defined(body: list[Op]) -> set[Value]:
    out: set[Value] = set()
    for op in _all_ops(body):
        out.update(op.results)
        for r in op.regions:
            out.update(r.args)
    return out


def _captured(body: list[Op], defined: set[Value]) -> list[Value]:
    out: dict[Value, None] = {}
    for op in _all_ops(body):
        for v in op.operands():
            if v not in defined:
                out[v] = None
    return list(out)


def op_users(region: Region) -> dict[Value, list[Op]]:
    """Every op (at any depth) reading each value, in program order."""
    users: dict[Value, list[Op]] = {}
    for op in region.walk():
        for v in op.operands():
            users.setdefault(v, []).append(op)
    return users



# --- inline helpers in the orchestration ----------------------------------------------------------
def _dissolve_inline_calls(body: Region) -> None:
    """Splice the body of every `pl.inline_call` of the orchestration (outside kernel regions) into
    the region around it, its results replaced by what it yields.

    A helper is expanded at its call site (DESIGN.md §3): its tile ops join the implicit kernel of
    the code around the call instead of making one of their own, so no tile crosses a kernel
    boundary at the helper's edges (that needed a workspace buffer, and inside pl.parallel one
    per iteration). The ops keep their source locations.
    """
    subst: dict[Value, Value] = {}
    _splice_inline_calls(body, subst)
    if subst:
        for op in body.walk():
            op.replace_operands({v: _resolve(v, subst) for v in op.operands() if v in subst})


def _splice_inline_calls(region: Region, subst: dict[Value, Value]) -> None:
    out: list[Op] = []
    for op in region.ops:
        if isinstance(op, (ops.At, ops.Spmd)):
            out.append(op)
            continue
        for r in op.regions:
            _splice_inline_calls(r, subst)
        if isinstance(op, ops.InlineCall):
            body = op.regions[0].ops
            subst.update(zip(op.results, body[-1].values))
            out += body[:-1]
        else:
            out.append(op)
    region.ops = out


def _resolve(v: Value, subst: dict[Value, Value]) -> Value:
    while v in subst:  # a helper returning what a nested helper returned
        v = subst[v]
    return v


def _copy_returned_views(f: Function) -> None:
    """A returned view (a slice or reshape of a buffer) is copied into a buffer of its own: the
    caller gets a whole tensor back (the orchestration hands back buffers, not windows)."""
    term = f.body.ops[-1]
    memory = set(buffer_roots(f))
    values = list(term.values)
    for i, v in enumerate(values):
        if v in memory and isinstance(v.owner, (ops.Slice, ops.Reshape)):
            t = v.type
            hint = (v.hint or "result") + "_copy"
            create = _op(ops.CreateTensor(loc=term.loc, shape=t.shape, dtype=t.dtype), t, hint)
            load = _op(ops.Load(loc=term.loc, src=v), t, v.hint)
            store = _op(ops.Assemble(loc=term.loc, dst=create.results[0], src=load.results[0],
                                     offsets=(0,) * len(t.shape)), t, None)
            f.body.ops[-1:-1] = [create, load, store]
            values[i] = store.results[0]
    term.values = tuple(values)


# --- tiles carried by orchestration loops and branches ---------------------------------------
def _demote_carried_tiles(region: Region, memory: set[Value]) -> None:
    """A tile carried by an orchestration loop (or yielded by an `if`: `_demote_if`) lives in a
    buffer made before the loop.

    Each iteration loads it at the start and stores the new value at the end, so the buffers of
    different iterations never alias (a kernel reading the previous iteration's tile and one
    writing the next are ordered through that buffer like any other memory).
    """
    out: list[Op] = []
    for op in region.ops:
        if isinstance(op, (ops.At, ops.Spmd)):
            out.append(op)
            continue
        for r in op.regions:
            _demote_carried_tiles(r, memory)
        if isinstance(op, ops.ForLoop):
            out += _demote_loop(op, memory)
        if isinstance(op, ops.If):
            out += _demote_if(op, memory)
        out.append(op)
    region.ops = out


def _demote_loop(loop: Op, memory: set[Value]) -> list[Op]:
    body = loop.regions[0]
    before: list[Op] = []
    local = _made_in(loop)
    for j, init in enumerate(loop.init):
        carried = body.ops[-1].values[j]
        if not isinstance(init.type, TensorType) or (init in memory and carried in memory and not local(carried)):
            continue  # a buffer threaded through the loop (a tile seeded from a buffer is demoted too)
        loc, t = loop.loc, init.type
        create = _op(ops.CreateTensor(loc=loc, shape=t.shape, dtype=t.dtype), t, (init.hint or "carried") + "_buf")
        seed = _op(ops.Assemble(loc=loc, dst=create.results[0], src=init, offsets=(0,) * len(t.shape)), t, None)
        before += [create, seed]
        arg = body.args[1 + j]
        buf_arg = Value(t, arg.hint)
        load = _op(ops.Load(loc=loc, src=buf_arg), t, arg.hint)
        _replace_uses(body, arg, load.results[0])
        body.args[1 + j] = buf_arg
        term = body.ops[-1]
        store = _op(ops.Assemble(loc=term.loc, dst=buf_arg, src=term.values[j], offsets=(0,) * len(t.shape)), t, None)
        term.values = term.values[:j] + (store.results[0],) + term.values[j + 1:]
        body.ops[-1:] = [store, term]
        body.ops.insert(0, load)
        loop.init = loop.init[:j] + (seed.results[0],) + loop.init[j + 1:]
        memory.update({create.results[0], seed.results[0], buf_arg, store.results[0], loop.results[j]})
    return before


def _demote_if(branch: Op, memory: set[Value]) -> list[Op]:
    """A tile an orchestration `if` yields lives in one buffer made before it: each arm stores its
    tile there, so both arms leave the result in the same buffer (the orchestration has no other
    way to merge them), and the users after the branch read that buffer."""
    before: list[Op] = []
    for j, result in enumerate(branch.results):
        arms = [r.ops[-1].values[j] for r in branch.regions]
        if not isinstance(result.type, TensorType) or all(v in memory for v in arms):
            continue  # a buffer threaded through the branch
        t = result.type
        hint = (result.hint or "branch") + "_buf"
        create = _op(ops.CreateTensor(loc=branch.loc, shape=t.shape, dtype=t.dtype), t, hint)
        before.append(create)
        for arm, value in zip(branch.regions, arms):
            term = arm.ops[-1]
            tile = value
            if value in memory:  # a buffer in one arm only: copy its value like a tile
                load = _op(ops.Load(loc=term.loc, src=value), t, value.hint)
                arm.ops.insert(len(arm.ops) - 1, load)
                tile = load.results[0]
            store = _op(ops.Assemble(loc=term.loc, dst=create.results[0], src=tile, offsets=(0,) * len(t.shape)), t,
                        None)
            arm.ops.insert(len(arm.ops) - 1, store)
            term.values = term.values[:j] + (store.results[0],) + term.values[j + 1:]
            memory.add(store.results[0])
        memory.update({create.results[0], result})
    return before


def _made_in(loop: Op):
    """A predicate: may this memory value denote a buffer created in the body of `loop`?

    Such a buffer is created anew by every iteration (at the same offset, so its old contents are
    gone), so a loop yielding it cannot carry it as a buffer; it must copy it out like a tile. The
    roots are computed now, after the inner loops were demoted (their buffers are made in `body`),
    over the loop alone (a walk of f per loop would make outlining quadratic in the program).
    """
    body = loop.regions[0]
    created = {op.results[0] for op in body.walk() if isinstance(op, ops.CreateTensor)}
    roots = ops_roots([loop]) if created else {}
    return lambda v: bool(roots.get(v, frozenset()) & created)


def _build(op: Op, hint: str | None) -> Op:
    """`op` with results of the types it infers."""
    op.results = [Value(t, hint, owner=op) for t in op.infer()]
    return op


def _row_offset(terms: list[tuple[Op, int]], rows: int, loc: Loc) -> tuple[list[Op], Value]:
    """Orchestration index math for sum(index * stride) * rows: the first row of this iteration's block."""
    made: list[Op] = []
    total: Value | None = None
    for loop, stride in terms:
        scale = _build(ops.Const(loc=loc, value=stride * rows, dtype=INDEX), None)
        term = _build(ops.Mul(loc=loc, lhs=loop.regions[0].args[0], rhs=scale.results[0]), None)
        made += [scale, term]
        if total is not None:
            term = _build(ops.Add(loc=loc, lhs=total, rhs=term.results[0]), None)
            made.append(term)
        total = term.results[0]
    return made, total


def _op(op: Op, t: TensorType, hint: str | None) -> Op:
    op.results = [Value(t, hint, owner=op)]
    return op


def _replace_uses(region: Region, old: Value, new: Value) -> None:
    for op in region.walk():
        op.replace_operands({old: new})
