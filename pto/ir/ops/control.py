"""Region ops: loops, branches, kernels (`pl.at`, `pl.spmd`), lifetime scopes, inline calls.

Every region ends with `pl.yield`; the region op's results are the yielded values (for loops: the
values carried to the next iteration, whose final versions are the results). Values defined inside
a region are not visible outside it; what escapes is yielded, buffer versions included.
"""
from __future__ import annotations

from ..core import DTYPE, IDX, INT, INTS, STR, V, VS, IRTypeError, Op, Region, register
from ..types import BOOL, ScalarType, TensorType, Type


def _yielded_types(region: Region) -> list[Type]:
    term = region.ops[-1] if region.ops else None
    if not isinstance(term, Yield):
        raise IRTypeError("region does not end with pl.yield")
    return [v.type for v in term.values]


@register
class Yield(Op):
    name = "pl.yield"
    fields = {"values": VS}
    is_terminator = True

    def infer(self) -> list[Type]:
        return []


@register
class Return(Op):
    name = "pl.return"
    fields = {"values": VS}
    is_terminator = True

    def infer(self) -> list[Type]:
        return []


LOOP_KINDS = ("range", "parallel", "pipeline")


@register
class ForLoop(Op):
    """`for i in range(start, stop, step)`; block args are (i, *carried); `init` seeds the carried."""

    name = "pl.for"
    fields = {"start": IDX, "stop": IDX, "step": IDX, "init": VS, "kind": STR, "stage": INT}
    optional = frozenset({"stage"})
    num_regions = 1

    def infer(self) -> list[Type]:
        if self.kind not in LOOP_KINDS:
            raise IRTypeError(f"unknown loop kind '{self.kind}'")
        body = self.regions[0]
        carried = [a.type for a in body.args[1:]]
        if [v.type for v in self.init] != carried or _yielded_types(body) != carried:
            raise IRTypeError("loop-carried types differ between init, block arguments and yield")
        return carried


@register
class If(Op):
    """Two regions (then, else) selected by a BOOL scalar; both yield the same types."""

    name = "pl.if"
    fields = {"cond": V}
    num_regions = 2

    def infer(self) -> list[Type]:
        if self.cond.type != ScalarType(BOOL):
            raise IRTypeError(f"pl.if condition must be a BOOL scalar, got {self.cond.type}")
        then_t, else_t = (_yielded_types(r) for r in self.regions)
        if then_t != else_t:
            raise IRTypeError("the two branches of pl.if yield different types")
        return then_t


class _SingleRegion(Op):
    num_regions = 1

    def infer(self) -> list[Type]:
        return _yielded_types(self.regions[0])


@register
class At(_SingleRegion):
    """`with pl.at(name_hint=...)`: the body is one kernel (one task)."""

    name = "pl.at"
    fields = {"name_hint": STR}


@register
class Spmd(_SingleRegion):
    """One task over `blocks` blocks; the region's only argument is the block index."""

    name = "pl.spmd"
    fields = {"blocks": INT, "name_hint": STR}


@register
class Scope(_SingleRegion):
    """`with pl.scope()`: tensors created inside are released when it closes."""

    name = "pl.scope"
    fields = {}


@register
class InlineCall(_SingleRegion):
    """An expanded `@pl.jit.inline` call, kept as a named region for dumps and locations only."""

    name = "pl.inline_call"
    fields = {"callee": STR}


@register
class Call(Op):
    """Submit kernel `kernel` as one task over `blocks` blocks. `args` are whole buffers and
    scalars in the kernel's parameter order; the results are the new versions of the arguments at
    positions `outs` (the kernel's out/inout tensors)."""

    name = "pl.call"
    fields = {"kernel": STR, "args": VS, "blocks": INT, "outs": INTS}

    def infer(self) -> list[Type]:
        for i in self.outs:
            if not 0 <= i < len(self.args):
                raise IRTypeError(f"pl.call output index {i} is out of range")
        return [self.args[i].type for i in self.outs]


@register
class TPush(Op):
    """In one part of a split mixed kernel: hand `value` to the other core over `channel`."""

    name = "pl.tpush"
    fields = {"value": V, "channel": INT}

    def infer(self) -> list[Type]:
        return []


@register
class TPop(Op):
    """In one part of a split mixed kernel: take the next value the other core pushed on
    `channel`: a tile of `shape` (a scalar when shape is absent) of `dtype`."""

    name = "pl.tpop"
    fields = {"channel": INT, "shape": INTS, "dtype": DTYPE}
    optional = frozenset({"shape"})

    def infer(self) -> list[Type]:
        if self.shape is None:
            return [ScalarType(self.dtype)]
        return [TensorType(tuple(self.shape), self.dtype)]
