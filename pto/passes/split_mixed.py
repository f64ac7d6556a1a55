"""split_mixed: each mixed kernel becomes an AIC part and an AIV part that exchange values.

Requires: an outlined program (kernels with attrs core = aic | aiv | mixed).
Produces: for every mixed kernel K, two more kernel functions K__aic and K__aiv (attrs
role="kernel-part"), listed in K's attrs `parts`. K itself stays as the specification; a task
of K runs its two parts side by side. Both parts take K's parameters and run K's control flow
(loops, branches, index arithmetic are replicated); each op of K runs in exactly one part:
  * matmul and matmul_acc on the cube core (AIC), and so a pl.full of 0 that only seeds
    matmul_acc accumulators (directly or as the initial value of a loop accumulating into it in
    place): the loop-carried accumulator then stays on the cube for the whole loop (A2/A3 keeps
    it in L0C, which only the cube writes) and only the final one crosses, once, after the loop;
  * every other tile op on the vector core (AIV), except views and loads of a tile, which go
    where that tile is, and stores, which go where the stored tile is;
  * scalar arithmetic and views of GM where their operands are (both parts when they are in both).
A value one part makes and the other needs crosses once, right where it is made: `pl.tpush` in
the maker, `pl.tpop` at the same point of the other part (same loop iteration structure, so the
pushes and pops of a channel pair up in order). A write to GM that the other part reads later
crosses the same way, which orders the two. The AIV part returns K's results.
"""
from __future__ import annotations

from ..ir import ops
from ..ir.cleanup import eliminate_dead_code
from ..ir.core import Function, Op, Param, Program, Region, Value
from ..ir.types import TensorType
from .outline import COMPUTE, CUBE, op_users

NAME = "split_mixed"
C, V, BOTH = "aic", "aiv", "both"


def accumulates_in_place(loop: Op, i: int, uses) -> bool:
    """Loop-carried value i is an accumulator: the body's only use of it is a matmul_acc whose
    result the body yields back in its place. `uses(v)` lists the ops reading v."""
    body = loop.regions[0]
    arg, y = body.args[1 + i], body.ops[-1].values[i]
    return isinstance(y.owner, ops.MatmulAcc) and y.owner.acc is arg and uses(arg) == [y.owner]


def seeds_accumulators(v: Value, uses) -> bool:
    """Every use of `v` is the accumulator of a matmul_acc, directly or as the initial value of a
    loop that accumulates into it in place."""
    for u in uses(v):
        if isinstance(u, ops.MatmulAcc) and u.acc is v and v not in (u.lhs, u.rhs):
            continue
        if isinstance(u, ops.ForLoop) and all(accumulates_in_place(u, i, uses) for i, x in enumerate(u.init) if x is v):
            continue
        return False
    return bool(uses(v))


def run(c):
    extra = []
    for k in c.program.functions[1:]:
        if k.attrs.get("core") == "mixed":
            parts = split_kernel(k)
            k.attrs = {**k.attrs, "parts": [p.name for p in parts]}
            extra += parts
    c.program = Program(c.program.functions + extra)
    return c


def _join(a: str, b: str) -> str:
    if a == BOTH:
        return b
    if b == BOTH or a == b:
        return a
    return V  # operands on both cores: the vector core combines them


class _Sides:
    """Which core each value lives on, and which cores need it."""

    def __init__(self, k: Function):
        self.of: dict[Value, str] = {p.value: BOTH for p in k.params}
        self.needed: dict[Value, set[str]] = {}
        uses = op_users(k.body)
        self.uses = lambda v: uses.get(v, [])
        self.region(k.body)

    def side(self, v: Value) -> str:
        return self.of.get(v, BOTH)

    def need(self, v: Value, side: str) -> None:
        self.needed.setdefault(v, set()).update((C, V) if side == BOTH else (side,))

    def op_side(self, op: Op) -> str:
        if isinstance(op, CUBE):
            return C
        if isinstance(op, ops.Full) and op.value == 0 and seeds_accumulators(op.results[0], self.uses):
            return C  # the cube's first product replaces it: the accumulator never leaves L0C
        if isinstance(op, (ops.Slice, ops.Reshape, ops.Load, ops.Read)):
            return self.side(op.src)
        if isinstance(op, (ops.Assemble, ops.Write)):
            src = op.src if isinstance(op, ops.Assemble) else op.value
            return self.side(src) if self.side(src) != BOTH else V
        if isinstance(op, COMPUTE) and not isinstance(op.results[0].type, TensorType):
            side = BOTH
            for u in op.operands():
                side = _join(side, self.side(u))
            return side
        if isinstance(op, (ops.Const, ops.CreateTensor)):
            return BOTH
        return V

    def region(self, region: Region) -> None:
        for op in region.ops:
            if isinstance(op, ops.ForLoop):
                self.loop(op)
            elif isinstance(op, ops.If):
                self.branch(op)
            elif isinstance(op, ops.Return):
                for u in op.values:
                    self.need(u, V)
            elif not op.is_terminator:
                side = self.op_side(op)
                for u in op.operands():
                    self.need(u, side)
                for r in op.results:
                    self.of[r] = side

    def loop(self, op: Op) -> None:
        body = op.regions[0]
        self.of[body.args[0]] = BOTH
        sides = [self.side(init) for init in op.init]
        for _ in range(2):  # the yields decide the carried sides; one more round settles them
            for a, s in zip(body.args[1:], sides):
                self.of[a] = s
            self.region(body)
            sides = [_join(s, self.side(y)) for s, y in zip(sides, body.ops[-1].values)]
        for a, r, s, init, y in zip(body.args[1:], op.results, sides, op.init, body.ops[-1].values):
            self.of[a] = self.of[r] = s
            self.need(init, s)
            self.need(y, s)
        for x in (op.start, op.stop, op.step):
            if isinstance(x, Value):
                self.need(x, BOTH)

    def branch(self, op: Op) -> None:
        self.need(op.cond, BOTH)
        for r in op.regions:
            self.region(r)
        for i, res in enumerate(op.results):
            side = _join(*(self.side(r.ops[-1].values[i]) for r in op.regions))
            self.of[res] = side
            for r in op.regions:
                self.need(r.ops[-1].values[i], side)


class _Splitter:
    def __init__(self, k: Function, sides: _Sides):
        self.k, self.sides = k, sides
        self.maps: dict[str, dict[Value, Value]] = {C: {}, V: {}}
        self.channel = 0

    def keeps(self, part: str, side: str) -> bool:
        return side in (part, BOTH)

    def value(self, part: str, v: Value) -> Value:
        return self.maps[part][v] if v in self.maps[part] else v

    def clone(self, op: Op, part: str) -> Op:
        fields = {key: self._map_field(getattr(op, key), part) for key in op.fields}
        new = type(op)(loc=op.loc, **fields)
        new.results = [Value(r.type, r.hint, owner=new) for r in op.results]
        for r, n in zip(op.results, new.results):
            self.maps[part][r] = n
        return new

    def _map_field(self, x, part: str):
        if isinstance(x, Value):
            return self.value(part, x)
        if isinstance(x, tuple):
            return tuple(self._map_field(e, part) for e in x)
        return x

    def cross(self, v: Value, made: str, out: dict[str, list[Op]]) -> None:
        """Send `v` from the part that made it to the other one, if the other needs it."""
        other = V if made == C else C
        if made == BOTH or other not in self.sides.needed.get(v, ()):
            return
        self.channel += 1
        out[made].append(ops.TPush(loc=v.owner.loc if v.owner else self.k.body.ops[-1].loc,
                                   value=self.value(made, v), channel=self.channel))
        shape = v.type.shape if isinstance(v.type, TensorType) else None
        pop = ops.TPop(loc=out[made][-1].loc, channel=self.channel, shape=shape, dtype=v.type.dtype)
        pop.results = [Value(v.type, v.hint, owner=pop)]
        self.maps[other][v] = pop.results[0]
        out[other].append(pop)

    def region(self, region: Region, out: dict[str, list[Op]]) -> None:
        for op in region.ops:
            if op.is_terminator:
                continue
            if isinstance(op, ops.ForLoop):
                self.loop(op, out)
            elif isinstance(op, ops.If):
                self.branch(op, out)
            else:
                side = self.sides.op_side(op)
                for part in (C, V):
                    if self.keeps(part, side):
                        out[part].append(self.clone(op, part))
                for r in op.results:
                    self.cross(r, side, out)

    def loop(self, op: Op, out: dict[str, list[Op]]) -> None:
        body = op.regions[0]
        carried = list(zip(body.args[1:], op.init, body.ops[-1].values, op.results))
        bodies: dict[str, list[Op]] = {C: [], V: []}
        clones = {}
        for part in (C, V):
            keep = [x for x in carried if self.keeps(part, self.sides.side(x[0]))]
            idx = Value(body.args[0].type, body.args[0].hint)
            self.maps[part][body.args[0]] = idx
            args = [Value(a.type, a.hint) for a, *_ in keep]
            self.maps[part].update({a: n for (a, *_), n in zip(keep, args)})
            clone = ops.ForLoop(loc=op.loc, start=self._map_field(op.start, part), stop=self._map_field(op.stop, part),
                                step=self._map_field(op.step, part), init=tuple(self.value(part, i) for _, i, _, _ in keep),
                                kind=op.kind, stage=op.stage)
            clone.regions[0].args = [idx] + args
            clones[part] = (clone, keep)
        for a, *_ in carried:
            self.cross(a, self.sides.side(a), bodies)
        self.region(body, bodies)
        for part in (C, V):
            clone, keep = clones[part]
            clone.regions[0].ops = bodies[part] + [ops.Yield(loc=op.loc, values=tuple(self.value(part, y) for _, _, y, _ in keep))]
            clone.results = [Value(r.type, r.hint, owner=clone) for *_, r in keep]
            self.maps[part].update({r: n for (*_, r), n in zip(keep, clone.results)})
            out[part].append(clone)
        for *_, r in carried:
            self.cross(r, self.sides.side(r), out)

    def branch(self, op: Op, out: dict[str, list[Op]]) -> None:
        arms = []
        for region in op.regions:
            arm: dict[str, list[Op]] = {C: [], V: []}
            self.region(region, arm)
            arms.append((region, arm))
        for part in (C, V):
            keep = [i for i, r in enumerate(op.results) if self.keeps(part, self.sides.side(r))]
            clone = ops.If(loc=op.loc, cond=self.value(part, op.cond))
            for new_region, (region, arm) in zip(clone.regions, arms):
                values = tuple(self.value(part, region.ops[-1].values[i]) for i in keep)
                new_region.ops = arm[part] + [ops.Yield(loc=op.loc, values=values)]
            clone.results = [Value(op.results[i].type, op.results[i].hint, owner=clone) for i in keep]
            self.maps[part].update({op.results[i]: n for i, n in zip(keep, clone.results)})
            out[part].append(clone)
        for r in op.results:
            self.cross(r, self.sides.side(r), out)

    def part(self, part: str, body_ops: list[Op]) -> Function:
        k = self.k
        params = []
        for p in k.params:
            v = Value(p.value.type, p.value.hint)
            self.maps[part].setdefault(p.value, v)
            params.append(Param(self.maps[part][p.value], p.direction))
        ret = k.body.ops[-1]
        values = tuple(self.value(part, v) for v in ret.values) if part == V else ()
        body = Region([], body_ops + [ops.Return(loc=ret.loc, values=values)])
        attrs = {"role": "kernel-part", "core": part, "blocks": k.attrs.get("blocks", 1), "group": k.name}
        f = Function(f"{k.name}__{part}", params, body, [v.type for v in values], attrs)
        eliminate_dead_code(f)
        while _drop_empty(f.body):  # a loop left with nothing to do in this part (e.g. the
            eliminate_dead_code(f)  # AIV side of a K loop that only accumulates on the cube)
        return f


def _drop_empty(region: Region) -> bool:
    """Remove result-less loops and branches whose regions hold only their terminator."""
    kept, dropped = [], False
    for op in region.ops:
        for r in op.regions:
            dropped |= _drop_empty(r)
        if isinstance(op, (ops.ForLoop, ops.If)) and not op.results and all(len(r.ops) == 1 for r in op.regions):
            dropped = True
            continue
        kept.append(op)
    region.ops = kept
    return dropped


def _flatten(region: Region) -> None:
    """Splice inline-call and scope regions into their parent (inside a kernel they only name
    lines), so the split sees loops and branches as its only regions."""
    out: list[Op] = []
    subst: dict[Value, Value] = {}
    for op in region.ops:
        op.replace_operands(subst)
        for r in op.regions:
            _flatten(r)
        if isinstance(op, (ops.InlineCall, ops.Scope)):
            body = op.regions[0]
            out += body.ops[:-1]
            subst.update(zip(op.results, body.ops[-1].values))
        else:
            out.append(op)
    region.ops = out
    if subst:
        for op in region.walk():
            op.replace_operands(subst)


def split_kernel(k: Function) -> list[Function]:
    _flatten(k.body)
    splitter = _Splitter(k, _Sides(k))
    for part in (C, V):  # parameters first, so clones inside refer to the part's own
        for p in k.params:
            splitter.maps[part][p.value] = Value(p.value.type, p.value.hint)
    out: dict[str, list[Op]] = {C: [], V: []}
    splitter.region(k.body, out)
    for v in k.body.ops[-1].values:
        splitter.cross(v, splitter.sides.side(v), out)
    return [splitter.part(C, out[C]), splitter.part(V, out[V])]
