"""The orchestration C++ of one entry (DESIGN.md §6), written against runtime/include/pto_orchestration.h.

Requires: a `Compilation` after the whole pipeline: the program (first function the orchestration,
the others kernels with attrs `core` aiv / aic / mixed and mixed kernels' `parts`), facts
"access", "deps" and "memplan" (create_tensor offsets, the entry's `workspace` attr).
Produces: `emit_orchestration(c)`, the text of one C++ file exporting
`aicpu_orchestration_config` and `aicpu_orchestration_entry`. The Python here builds a view model
(plain dicts and dataclasses); templates/orchestration.cpp.j2 spells it.

Conventions shared with the kernel wrappers and the runtime:
  * entry arguments: the tensor parameters in order are orch_args.tensor(0, 1, ...), the scalar
    parameters in order are orch_args.scalar(0, 1, ...) (the value's bits, see from_u64);
  * kernel ids: `kernel_ids(program)`, every function that runs on a core (aiv / aic kernels and
    the parts of mixed kernels) numbered in program order;
  * task arguments: the kernel's tensor parameters in order, tagged by direction (in -> input,
    out -> output of the existing buffer, inout -> inout), then its scalar parameters in order;
    the block-index parameter is not passed, the block count is `launch_spec.set_block_num`;
    a mixed kernel is one task running its AIC part and its AIV part (aiv0);
  * the workspace is one `alloc_tensors` buffer of `workspace` bytes; each planned
    `pl.create_tensor` is a tensor over it at its planned byte offset, made where the IR creates it;
  * dependencies: see orch_deps.py; the runtime may add its own inferred edges (AUTO scopes).
Control flow maps one to one: `pl.for` -> for over int64_t, `pl.if` -> if, `pl.scope` ->
PTO2_SCOPE(), `pl.inline_call` -> its body between comments; region results are C++ variables
(scalars) or the buffer handle they are a version of (tensors).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from ..ir import ops
from ..ir.core import Function, Op, Program, Region, Value
from ..ir.ops.memory import storage_of
from ..ir.types import Loc, ScalarType, TensorType
from ..analysis.control import conditional_ops
from .cpp_scalar import (Helpers, OrchestrationUnsupported, ctype, data_type, literal, literal_needs_cmath,
                         scalar_expr)
from .orch_deps import DepPlan, Wait, plan_dependencies

TEMPLATES = Path(__file__).parent / "templates"
TAGS = {"in": "add_input", "out": "add_output", "inout": "add_inout"}
SUBMIT = {"aiv": "rt_submit_aiv_task", "aic": "rt_submit_aic_task"}
SCALAR_OPS = (ops.Binary, ops.Unary, ops.Cast, ops.Where)
RESERVED = set("""alignas alignof and asm auto bool break case catch char class const constexpr continue
decltype default delete do double else enum explicit export extern false float for friend goto if inline
int long mutable namespace new noexcept not nullptr operator or private protected public register return
short signed sizeof static struct switch template this throw true try typedef typeid typename union
unsigned using virtual void volatile while xor args deps ndeps kernels config orch_args std main NAN
INFINITY ws_shape ws_info ws_alloc ws_base""".split())


def kernel_ids(program: Program) -> dict[str, int]:
    """Kernel function name -> the id its submits use (the functions that run on a core)."""
    runnable = [f for f in program.functions[1:] if f.attrs.get("core") in ("aiv", "aic")]
    return {f.name: i for i, f in enumerate(runnable)}


def emit_orchestration(c, source_root: Path | None = None) -> str:
    """The C++ orchestration of `c`'s entry; source paths under `source_root` print relative."""
    model = _Emitter(c, source_root).model()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template("orchestration.cpp.j2").render(m=model)


# --- view model ---------------------------------------------------------------------------------
# Per-task argument limits of the runtime (MAX_TENSOR_ARGS, MAX_SCALAR_ARGS in pto_orchestration.h,
# the reference runtime's values).
MAX_TASK_TENSORS, MAX_TASK_SCALARS = 32, 16


def _check_task_limits(op: Op, kernel: str, tensors: int, scalars: int) -> None:
    if tensors > MAX_TASK_TENSORS or scalars > MAX_TASK_SCALARS:
        raise OrchestrationUnsupported(
            f"kernel `{kernel}` takes {tensors} tensor and {scalars} scalar arguments; an a2a3 task carries at "
            f"most {MAX_TASK_TENSORS} tensors and {MAX_TASK_SCALARS} scalars (the scalars are the orchestration "
            f"values the kernel uses: loop indices, values read from tensors); split the kernel, or compute "
            f"fewer of them outside it", op.loc)


@dataclass
class TaskView:
    """One `pl.call`: what the template needs to build its arguments and submit it."""

    kernel: str
    loc: str
    core: str
    blocks: int
    submit: str                      # the rt_submit_* function ...
    target: str                      # ... its first argument: a kernel id constant or "kernels"
    mixed: list[tuple[str, str]]     # for a mixed task: (MixedKernels field, kernel id constant)
    tensors: list[dict]              # {"tag", "handle", "param"}
    scalars: list[dict]              # {"expr", "param"}
    waits: list[Wait]
    tid: str | None                  # the task-id variable this submit sets
    join: str | None                 # the join variable it extends (orch_deps.py)


@dataclass
class Model:
    entry: str
    loc: str
    kernels: list[dict]
    params: list[dict]
    arg_count: int
    uses_args: bool
    workspace: int
    tids: list[str]
    joins: list[str]
    body: list[dict]
    helpers: set[str] = field(default_factory=set)
    cmath: bool = False


# --- the emitter ----------------------------------------------------------------------------------
class _Emitter:
    def __init__(self, c, source_root: Path | None):
        self.program: Program = c.program
        self.entry: Function = c.program.entry
        self.root = source_root
        self.kernels = {f.name: f for f in c.program.functions[1:]}
        self.ids = kernel_ids(c.program)
        self.used_names: set[str] = set(RESERVED)
        self.expr: dict[Value, str] = {}
        self.used = {v for op in self.entry.walk() for v in op.operands()}
        self.helpers = Helpers()
        edges = c.facts["deps"] + c.facts["memplan"].reuse_edges
        self.workspace = int(self.entry.attrs.get("workspace", 0))
        self.deps: DepPlan = plan_dependencies(c.facts["access"], edges, self.fresh, conditional_ops(self.entry.body))
        self.order = {id(n.op): n.order for n in c.facts["access"]}

    def fresh(self, hint: str) -> str:
        base = re.sub(r"\W", "_", hint or "v")
        if base[0].isdigit() or base.startswith(("KERNEL_", "pto_", "PTO")):
            base = "v_" + base
        name, n = base, 1
        while name in self.used_names:
            n += 1
            name = f"{base}_{n}"
        self.used_names.add(name)
        return name

    def where(self, loc: Loc) -> str:
        path = Path(loc.file)
        if self.root is not None and path.is_absolute():
            try:
                path = path.relative_to(self.root)
            except ValueError:
                pass
        return f"{path.as_posix()}:{loc.line}"

    def model(self) -> Model:
        params, tensors, scalars = [], 0, 0
        for p in self.entry.params:
            t = p.value.type
            if isinstance(t, TensorType):
                getter, tensors = f"orch_args.tensor({tensors}).ref()", tensors + 1
            else:
                getter, scalars = f"from_u64<{ctype(t.dtype)}>(orch_args.scalar({scalars}))", scalars + 1
            self.expr[p.value] = name = self.fresh(p.value.hint or "arg")
            if p.value in self.used:
                kind = "const ChipTensor &" if isinstance(t, TensorType) else f"const {ctype(t.dtype)} "
                params.append({"decl": kind + name, "getter": getter, "what": f"{p.direction} {t}"})
        body = self.region(self.entry.body)
        kernels = [{"const": self.kernel_const(name), "id": i, "name": name,
                    "core": self.kernels[name].attrs["core"]} for name, i in self.ids.items()]
        ret = self.entry.body.ops[-1]
        return Model(self.entry.name, self.where(ret.loc), kernels, params, len(self.entry.params), bool(params),
                     self.workspace, self.in_order(self.deps.tid),
                     self.in_order(self.deps.join), body, self.helpers.names, self.helpers.cmath)

    def in_order(self, variables: dict[int, str]) -> list[str]:
        """The variables of task sites (keyed by id(op)) in program order."""
        return [v for k, v in sorted(variables.items(), key=lambda kv: self.order[kv[0]])]

    @staticmethod
    def kernel_const(name: str) -> str:
        return "KERNEL_" + re.sub(r"\W", "_", name)

    # --- values ---------------------------------------------------------------------------------
    def value(self, v: Value) -> str:
        if v not in self.expr:
            loc = v.owner.loc if v.owner is not None else None
            raise OrchestrationUnsupported(f"a value the orchestration cannot name ({v})", loc)
        return self.expr[v]

    def index(self, x) -> str:
        return str(x) if isinstance(x, int) else self.value(x)

    def uint32s(self, xs) -> list[str]:
        return [str(x) if isinstance(x, int) else f"static_cast<uint32_t>({self.value(x)})" for x in xs]

    def array(self, hint: str, values: list[str]) -> tuple[str, dict]:
        name = self.fresh(hint)
        return name, {"kind": "array", "name": name, "elems": values}

    # --- regions --------------------------------------------------------------------------------
    def region(self, region: Region) -> list[dict]:
        out: list[dict] = []
        for op in region.ops:
            if not op.is_terminator:
                out += self.op(op)
        return out

    def op(self, op: Op) -> list[dict]:
        handler = {ops.Const: self.const, ops.CreateTensor: self.create, ops.Slice: self.view,
                   ops.Reshape: self.view, ops.Call: self.call, ops.Read: self.read, ops.Write: self.write,
                   ops.ForLoop: self.loop, ops.If: self.branch, ops.Scope: self.scope,
                   ops.InlineCall: self.inline}.get(type(op))
        if handler is None and isinstance(op, SCALAR_OPS) and isinstance(op.results[0].type, ScalarType):
            handler = self.scalar
        if handler is None:
            raise OrchestrationUnsupported(f"{op.name} in the orchestration (outlining leaves only scalar work, "
                                           f"buffers, views, scalar accesses, control flow and calls)", op.loc)
        return handler(op)

    def const(self, op: Op) -> list[dict]:
        self.helpers.cmath |= literal_needs_cmath(op.value, op.dtype)
        self.expr[op.results[0]] = literal(op.value, op.dtype)
        return []

    def scalar(self, op: Op) -> list[dict]:
        v = op.results[0]
        if v not in self.used:
            return []
        expr = scalar_expr(op, [self.value(x) for x in op.operands()], self.helpers)
        self.expr[v] = name = self.fresh(v.hint or "s")
        return [{"kind": "let", "type": ctype(v.type.dtype), "name": name, "expr": expr}]

    def create(self, op: Op) -> list[dict]:
        v = op.results[0]
        if op.offset is None:
            raise OrchestrationUnsupported("a pl.create_tensor the memory plan gave no offset", op.loc)
        self.expr[v] = name = self.fresh(v.hint or "buf")
        if v not in self.used:
            return []
        self.workspace = max(self.workspace, 1)  # (a buffer of no bytes still needs a base)
        shape, decl = self.array(f"{name}_shape", [str(d) for d in op.shape])
        return [decl, {"kind": "buffer", "name": name, "offset": op.offset, "shape": shape, "ndims": len(op.shape),
                       "dtype": data_type(op.dtype), "loc": self.where(op.loc)}]

    def view(self, op: Op) -> list[dict]:
        v = op.results[0]
        self.expr[v] = name = self.fresh(v.hint or "view")
        if v not in self.used:
            return []
        sizes = op.sizes if isinstance(op, ops.Slice) else op.shape
        shape, decl = self.array(f"{name}_shape", [str(d) for d in sizes])
        out = [decl]
        if isinstance(op, ops.Slice):
            offsets, odecl = self.array(f"{name}_offsets", self.uint32s(op.offsets))
            out.append(odecl)
            call = f"{self.value(op.src)}.view({shape}, {offsets})"
        else:
            call = f"{self.value(op.src)}.reshape({shape}, {len(sizes)})"
        return out + [{"kind": "view", "name": name, "call": call}]

    def read(self, op: Op) -> list[dict]:
        v = op.results[0]
        if v not in self.used:
            return []
        at, decl = self.array(f"{v.hint or 'read'}_at", self.uint32s(op.offsets))
        self.expr[v] = name = self.fresh(v.hint or "value")
        return [decl, {"kind": "read", "name": name, "type": ctype(v.type.dtype),
                       "tensor": self.value(op.src), "ndims": len(op.offsets), "at": at,
                       "notes": self.deps.notes.get(id(op), []), "loc": self.where(op.loc)}]

    def write(self, op: Op) -> list[dict]:
        self.expr[op.results[0]] = self.value(storage_of(op.dst))
        at, decl = self.array(f"{op.dst.hint or 'write'}_at", self.uint32s(op.offsets))
        return [decl, {"kind": "write", "tensor": self.value(op.dst), "ndims": len(op.offsets), "at": at,
                       "type": ctype(op.value.type.dtype), "value": self.value(op.value),
                       "notes": self.deps.notes.get(id(op), []), "loc": self.where(op.loc)}]

    # --- tasks ----------------------------------------------------------------------------------
    def call(self, op: Op) -> list[dict]:
        kernel = self.kernels[op.kernel]
        params = [p for p in kernel.params if p.direction != "block"]
        tensors, scalars = [], []
        for p, a in zip(params, op.args):
            if isinstance(a.type, TensorType):
                tensors.append({"tag": TAGS[p.direction], "handle": self.value(a), "param": p.name})
            else:
                expr = self.value(a)
                if isinstance(a.owner, ops.Const):
                    expr = f"static_cast<{ctype(a.type.dtype)}>({expr})"
                scalars.append({"expr": expr, "param": p.name})
        _check_task_limits(op, kernel.name, len(tensors), len(scalars))
        for i, r in zip(op.outs, op.results):
            self.expr[r] = self.value(op.args[i])
        core = kernel.attrs["core"]
        if core == "mixed":
            parts = {self.kernels[n].attrs["core"]: n for n in kernel.attrs["parts"]}
            mixed = [("aic_kernel_id", self.kernel_const(parts["aic"])),
                     ("aiv0_kernel_id", self.kernel_const(parts["aiv"]))]
            submit, target = "rt_submit_task", "kernels"
        else:
            mixed, submit, target = [], SUBMIT[core], self.kernel_const(kernel.name)
        task = TaskView(op.kernel, self.where(op.loc), core, op.blocks, submit, target, mixed, tensors, scalars,
                        self.deps.wait(op), self.deps.tid.get(id(op)), self.deps.join.get(id(op)))
        if task.join:
            self.helpers.names.add("join")
        return [{"kind": "task", "task": task}]

    # --- control flow -----------------------------------------------------------------------------
    def carried(self, results: list[Value], inits=None) -> tuple[list[str | None], list[dict]]:
        """A variable (declared here, set to `inits` if given) for each scalar result; None for
        tensors (their handles alias the buffer)."""
        names, decls = [], []
        for i, r in enumerate(results):
            if isinstance(r.type, TensorType):
                names.append(None)
                continue
            name = self.fresh(r.hint or "r")
            names.append(name)
            init = self.value(inits[i]) if inits is not None else ""
            decls.append({"kind": "declare", "type": ctype(r.type.dtype), "name": name, "init": init})
        return names, decls

    def assign(self, names: list[str | None], values) -> list[dict]:
        """Simultaneous assignment of `values` to the scalar variables `names`."""
        pairs = [(n, self.value(v)) for n, v in zip(names, values) if n is not None and self.value(v) != n]
        if len(pairs) <= 1:
            return [{"kind": "assign", "name": n, "expr": e} for n, e in pairs]
        temps = [self.fresh(f"{n}_next") for n, _ in pairs]
        lets = [{"kind": "let", "type": "auto", "name": t, "expr": e} for t, (_, e) in zip(temps, pairs)]
        return lets + [{"kind": "assign", "name": n, "expr": t} for t, (n, _) in zip(temps, pairs)]

    def tensor_results(self, results: list[Value], yields: list[tuple], loc: Loc) -> None:
        """Tensor results are the buffer every branch yields (a region may not swap buffers)."""
        for i, r in enumerate(results):
            if not isinstance(r.type, TensorType):
                continue
            handles = {self.value(y[i]) for y in yields}
            if len(handles) != 1:
                raise OrchestrationUnsupported("a branch or loop whose result is a different buffer on different "
                                               "paths (swap the data, not the buffers)", loc)
            self.expr[r] = handles.pop()

    def loop(self, op: Op) -> list[dict]:
        body = op.regions[0]
        self.expr[body.args[0]] = var = self.fresh(body.args[0].hint or "i")
        names, decls = self.carried(list(body.args[1:]), op.init)
        for name, arg, v in zip(names, body.args[1:], op.init):
            self.expr[arg] = self.value(v) if name is None else name
        stmts = self.region(body)
        term = body.ops[-1]
        stmts += self.assign(names, term.values)
        self.tensor_results(list(body.args[1:]), [op.init, term.values], op.loc)
        for name, r, arg in zip(names, op.results, body.args[1:]):
            self.expr[r] = name if name is not None else self.expr[arg]
        cmp = ">" if isinstance(op.step, int) and op.step < 0 else "<"
        snapshots = [{"name": s, "var": v} for s, v in self.deps.snapshots.get(id(op), [])]
        loop = {"kind": "for", "var": var, "start": self.index(op.start), "stop": self.index(op.stop), "cmp": cmp,
                "step": self.index(op.step), "body": stmts, "snapshots": snapshots, "loc": self.where(op.loc)}
        return decls + [loop]

    def branch(self, op: Op) -> list[dict]:
        names, decls = self.carried(op.results)
        arms = []
        for region in op.regions:
            stmts = self.region(region)
            arms.append(stmts + self.assign(names, region.ops[-1].values))
        self.tensor_results(op.results, [r.ops[-1].values for r in op.regions], op.loc)
        for name, r in zip(names, op.results):
            if name is not None:
                self.expr[r] = name
        return decls + [{"kind": "if", "cond": self.value(op.cond), "then": arms[0], "else": arms[1],
                         "loc": self.where(op.loc)}]

    def scope(self, op: Op) -> list[dict]:
        names, decls = self.carried(op.results)
        body = op.regions[0]
        stmts = self.region(body) + self.assign(names, body.ops[-1].values)
        self.tensor_results(op.results, [body.ops[-1].values], op.loc)
        for name, r in zip(names, op.results):
            if name is not None:
                self.expr[r] = name
        return decls + [{"kind": "scope", "body": stmts, "loc": self.where(op.loc)}]

    def inline(self, op: Op) -> list[dict]:
        body = op.regions[0]
        stmts = self.region(body)
        for r, y in zip(op.results, body.ops[-1].values):
            self.expr[r] = self.value(y)
        return [{"kind": "inline", "callee": op.callee, "body": stmts, "loc": self.where(op.loc)}]
