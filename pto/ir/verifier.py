"""Structural and type checks of a function: run after tracing and between passes in tests.

Checks: each operand is defined before its use in an enclosing region (SSA dominance with
region scoping); each op's result types equal what its type rule infers; regions end in exactly
one terminator; the function's `pl.return` matches its declared result types.
"""
from __future__ import annotations

from .core import Function, IRTypeError, Op, Program, Region, Value
from .ops.control import Call, Return, Yield


class IRVerifyError(Exception):
    def __init__(self, op: Op | None, message: str):
        where = f"{op.name} at {op.loc}: " if op is not None else ""
        super().__init__(where + message)
        self.op = op


class _Verifier:
    def __init__(self) -> None:
        self.visible: list[set[Value]] = []

    def is_visible(self, v: Value) -> bool:
        return any(v in scope for scope in self.visible)

    def region(self, region: Region, terminator: type[Op]) -> None:
        self.visible.append(set(region.args))
        for i, op in enumerate(region.ops):
            last = i == len(region.ops) - 1
            if op.is_terminator != last:
                raise IRVerifyError(op, "terminator is not the last op of its region" if op.is_terminator
                                    else "region does not end with a terminator")
            self.op(op)
        if not region.ops or not isinstance(region.ops[-1], terminator):
            raise IRVerifyError(region.ops[-1] if region.ops else None,
                                f"region must end with {terminator.name}")
        self.visible.pop()

    def op(self, op: Op) -> None:
        for v in op.operands():
            if not self.is_visible(v):
                raise IRVerifyError(op, f"operand {v!r} is not defined before this use")
        for r in op.regions:
            self.region(r, Yield)
        try:
            inferred = op.infer()
        except IRTypeError as e:
            raise IRVerifyError(op, str(e)) from None
        if inferred != [r.type for r in op.results]:
            raise IRVerifyError(op, f"result types {[str(r.type) for r in op.results]} but the op's rule "
                                    f"gives {[str(t) for t in inferred]}")
        for r in op.results:
            if r.owner is not op:
                raise IRVerifyError(op, f"result {r!r} does not name this op as its owner")
        self.visible[-1].update(op.results)


def verify_function(f: Function) -> None:
    v = _Verifier()
    v.visible.append({p.value for p in f.params})
    v.region(f.body, Return)
    ret = f.body.ops[-1]
    if [x.type for x in ret.values] != list(f.result_types):
        raise IRVerifyError(ret, "returned values do not match the function's result types")


def verify_program(p: Program) -> None:
    """Every function verifies, and every pl.call matches its kernel's signature."""
    by_name = {f.name: f for f in p.functions}
    for f in p.functions:
        verify_function(f)
    for f in p.functions:
        for op in f.walk():
            if isinstance(op, Call):
                _verify_call(op, by_name)


def _verify_call(op: "Call", by_name: dict[str, Function]) -> None:
    kernel = by_name.get(op.kernel)
    if kernel is None:
        raise IRVerifyError(op, f"calls unknown kernel '{op.kernel}'")
    params = [p for p in kernel.params if p.direction != "block"]
    if [a.type for a in op.args] != [p.value.type for p in params]:
        raise IRVerifyError(op, f"arguments do not match the parameters of kernel '{op.kernel}'")
    outs = [i for i, p in enumerate(params) if p.direction in ("out", "inout")]
    if [r.type for r in op.results] != list(kernel.result_types):
        raise IRVerifyError(op, f"results {[str(r.type) for r in op.results]} but kernel '{op.kernel}' returns "
                                f"{[str(t) for t in kernel.result_types]}")
    if list(op.outs) != outs:
        raise IRVerifyError(op, f"outs {list(op.outs)} but kernel '{op.kernel}' writes parameters {outs}")
