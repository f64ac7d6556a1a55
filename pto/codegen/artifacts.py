"""The build artifact directory of one compiled entry: build/<entry>-<hash>/.

    ir/NN_<pass>.pir             the IR after tracing and after every pass
    orchestration/<entry>.cpp    the orchestration (when the emitter can express the program)
    kernels/aic|aiv/<k>.pto      PTO-AS per kernel (current spelling) and <k>.wrapper.cpp
    kernel_config.json           kernel ids, core types, signatures, and why a kernel has no .pto
    report/                      memory plan, scope stats, dependency graph, on-chip plans

The hash is of the final program's text, so the same program always lands in the same directory.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ..analysis.scope_stats import scope_stats, to_json_lines
from ..ir.core import Function
from ..ir.printer import print_program
from ..ir.types import TensorType
from ..passes.pipeline import Compilation, CompileOptions, compile_function
from .orchestration import emit_orchestration
from .pto_asm import Unsupported, emit_kernel, kernel_functions
from .spelling import CURRENT, ELEMENT

C_TYPES = {"f32": "float", "f16": "half", "bf16": "bfloat16_t", "i32": "int32_t", "i16": "int16_t",
           "i8": "int8_t", "ui8": "uint8_t", "i64": "int64_t", "i1": "bool", "index": "int64_t"}


def build(function: Function, root: Path = Path("build")) -> tuple[Path, Compilation]:
    """Compile `function` (a traced entry) and write its artifact directory; returns its path."""
    staging = root / f".{function.name}-staging"
    try:
        c = compile_function(function, CompileOptions(dump_dir=staging / "ir"))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # no half-written directory after an error
        raise
    digest = hashlib.sha256(print_program(c.program).encode()).hexdigest()[:12]
    out = root / f"{function.name}-{digest}"
    (out / "ir").mkdir(parents=True, exist_ok=True)
    for f in (staging / "ir").glob("*.pir"):
        f.replace(out / "ir" / f.name)
    (staging / "ir").rmdir()
    staging.rmdir()
    _write_kernels(c, out)
    _write_orchestration(c, out)
    _write_reports(c, out)
    return out, c


def _write_kernels(c: Compilation, out: Path) -> None:
    config = []
    for kid, k in enumerate(kernel_functions(c.program)):
        core = k.attrs.get("core", "aiv")
        entry = {"id": kid, "name": k.name, "core": core, "blocks": k.attrs.get("blocks", 1),
                 "group": k.attrs.get("group"), "params": [_param(p) for p in k.params]}
        try:
            text = emit_kernel(k, CURRENT)
        except Unsupported as e:
            entry["pto"], entry["unsupported"] = None, str(e)
        else:
            path = out / "kernels" / core / f"{k.name}.pto"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.with_suffix(".wrapper.cpp").write_text(kernel_wrapper(k))
            entry["pto"] = str(path.relative_to(out))
        config.append(entry)
    (out / "kernel_config.json").write_text(json.dumps({"kernels": config}, indent=2) + "\n")


def _param(p) -> dict:
    t = p.value.type
    info = {"name": p.value.hint, "direction": p.direction, "dtype": t.dtype.name}
    if isinstance(t, TensorType):
        info["shape"] = list(t.shape)
    return info


def kernel_wrapper(k: Function) -> str:
    """`kernel_entry(args)`: the task's packed arguments (tensor addresses, then scalars, as the
    orchestration adds them) unpacked into the kernel's parameters."""
    params = [p for p in k.params if p.direction != "block"]
    # The runtime packs a task's tensors before its scalars (simpler.md §1.4), whatever the order
    # of the kernel's parameters.
    packed = [p for p in params if isinstance(p.value.type, TensorType)] + \
             [p for p in params if not isinstance(p.value.type, TensorType)]
    slot = {id(p): i for i, p in enumerate(packed)}
    decls, casts = [], []
    for i, p in enumerate(params):
        c_type = C_TYPES[ELEMENT[p.value.type.dtype.name]]
        if isinstance(p.value.type, TensorType):
            decls.append(f"__gm__ {c_type}* {p.value.hint or f'a{i}'}")
            casts.append(f"reinterpret_cast<__gm__ {c_type}*>(args[{slot[id(p)]}])")
        else:
            decls.append(f"{c_type} {p.value.hint or f'a{i}'}")
            casts.append(f"static_cast<{c_type}>(args[{slot[id(p)]}])")
    return (f"// Wrapper of kernel {k.name} ({k.attrs.get('core')}): unpacks the task arguments.\n"
            f"extern \"C\" __global__ AICORE void {k.name}({', '.join(decls)});\n\n"
            f"extern \"C\" __global__ AICORE void kernel_entry(__gm__ int64_t* args) {{\n"
            f"    {k.name}({', '.join(casts)});\n}}\n")


def _write_orchestration(c: Compilation, out: Path) -> None:
    path = out / "orchestration" / f"{c.program.entry.name}.cpp"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(emit_orchestration(c))


def _write_reports(c: Compilation, out: Path) -> None:
    report = out / "report"
    report.mkdir(parents=True, exist_ok=True)
    plan = c.facts["memplan"]
    (report / "memory_plan.json").write_text(json.dumps({
        "workspace": plan.workspace, "naive": plan.naive, "lower_bound": plan.lower_bound,
        "buffers": [{"name": a.name, "offset": a.offset, "size": a.size, "start": a.start, "end": a.end}
                    for a in plan.allocs]}, indent=2) + "\n")
    (report / "scope_stats.jsonl").write_text(to_json_lines(scope_stats(c.program.entry, plan)))
    edges = c.facts["deps"] + plan.reuse_edges
    (report / "deps.json").write_text(json.dumps({"edges": [
        {"src": e.src.name, "dst": e.dst.name, "kind": e.kind, "buffer": e.buffer.hint,
         "carried": e.carried_by is not None} for e in edges]}, indent=2) + "\n")
    (report / "onchip.json").write_text(json.dumps(
        {k: {space: {key: plan[key] for key in ("peak", "capacity")} for space, plan in spaces.items()}
         for k, spaces in c.facts.get("onchip", {}).items()}, indent=2) + "\n")
