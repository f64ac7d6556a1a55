"""The orchestration C++ emitter: every example and DSL test kernel compiles with g++ against our
header; the softmax example matches its golden text; the emitted dependencies of a small program
are exactly the compiler's edges (a RAW edge within an iteration and a loop-carried one).

Regenerate the golden on purpose with PTO_REGEN_GOLDEN=1.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.cli import compile_case, load_cases
from pto.codegen.orchestration import emit_orchestration, kernel_ids
from pto.passes.pipeline import compile_function

from case_files import ROOT, all_cases

INCLUDE = ROOT / "runtime" / "include"
GOLDEN = Path(__file__).parent / "golden"
GXX = shutil.which("g++")


def syntax_check(text: str, tmp_path: Path, name: str = "orchestration") -> None:
    """g++ -fsyntax-only of `text` against our header (skips where there is no g++)."""
    if GXX is None:
        pytest.skip("g++ is not installed")
    src = tmp_path / f"{name}.cpp"
    src.write_text(text)
    cmd = [GXX, "-std=c++17", "-Wall", "-Werror", "-fsyntax-only", "-I", str(INCLUDE), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"g++ rejected the orchestration of {name}:\n{r.stderr}\n--- source ---\n{text}"


@pytest.mark.parametrize("path, case", all_cases())
def test_orchestration_compiles(path, case, tmp_path):
    c = compile_case(case, None)
    syntax_check(emit_orchestration(c, ROOT), tmp_path, case.name)


def test_header_alone_compiles(tmp_path):
    syntax_check('#include "pto_orchestration.h"\n', tmp_path, "header")


def test_softmax_golden():
    case = load_cases(str(ROOT / "examples" / "softmax.py"), None)[0]
    text = emit_orchestration(compile_case(case, None), ROOT)
    golden = GOLDEN / "softmax.cpp"
    if os.environ.get("PTO_REGEN_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), "emitted orchestration differs from tests/codegen/golden/softmax.cpp"


def test_kernel_ids_match_the_kernel_files():
    from pto.codegen.pto_asm import kernel_functions

    case = load_cases(str(ROOT / "tests" / "kernels" / "sparse_attention.py"), None)[0]
    program = compile_case(case, None).program
    assert list(kernel_ids(program)) == [f.name for f in kernel_functions(program)]


# --- dependencies --------------------------------------------------------------------------------
from programs import columns_then_all, produce_accumulate  # noqa: E402  (shared test programs)


def task_block(text: str, kernel: str) -> str:
    """The C++ block submitting `kernel` (from its comment line to the closing brace)."""
    m = re.search(rf"^( *)// {kernel}: .*?\n\1\{{\n(.*?)\n\1\}}", text, re.S | re.M)
    assert m, f"no task block for {kernel}"
    return m.group(2)


def waits(block: str) -> dict[str, str]:
    return dict(re.findall(r"deps\[ndeps\+\+\] = (\w+);  // (.*)", block))


def emitted(kernel, *args) -> tuple[set, str]:
    c = compile_function(kernel.compile(*args).function)
    edges = {e.fact() for e in c.facts["deps"] + c.facts["memplan"].reuse_edges}
    return edges, emit_orchestration(c)


def test_raw_and_loop_carried_dependencies(tmp_path):
    edges, text = emitted(produce_accumulate, np.zeros((8, 4), np.float32), np.zeros((8, 4), np.float32),
                          np.zeros((1, 4), np.float32))
    assert edges == {("produce", "accumulate", "RAW", "mid", False), ("produce", "accumulate", "RAW", "mid", True),
                     ("accumulate", "accumulate", "RAW", "acc", True), ("accumulate", "accumulate", "WAR", "acc", True),
                     ("accumulate", "accumulate", "WAW", "acc", True)}
    syntax_check(text, tmp_path, "produce_accumulate")
    # one task-id variable per site; a carried edge from a task earlier in the body waits for a
    # snapshot taken at the top of the loop body: that task's submit of the previous iteration
    assert "PTO2TaskId tid_produce = PTO2TaskId::invalid();" in text
    loop = text[text.index("for (int64_t"):].splitlines()
    assert loop[1].strip() == "const PTO2TaskId tid_produce_prev = tid_produce;  // its task of the previous iteration"
    produce, accumulate = task_block(text, "produce"), task_block(text, "accumulate")
    assert waits(produce) == {}
    assert "tid_produce = rt_submit_aiv_task(KERNEL_produce, args).task_id();" in produce
    assert waits(accumulate) == {
        "tid_produce": "RAW mid",
        "tid_produce_prev": "RAW mid (previous iteration)",
        "tid_accumulate": "RAW acc (previous iteration), WAR acc (previous iteration), WAW acc (previous iteration)"}
    assert "args.set_dependencies(deps, ndeps);" in accumulate
    assert "pto_join" not in text  # accumulate's own chain orders it after every earlier produce


def test_unordered_instances_are_joined(tmp_path):
    edges, text = emitted(columns_then_all, np.zeros((4, 64), np.float32), np.zeros((4, 64), np.float32))
    assert edges == {("cols", "all", "RAW", "out", False), ("cols", "all", "WAW", "out", False)}
    syntax_check(text, tmp_path, "columns_then_all")
    # the four cols tasks are unordered: `all` waits for the join of all of them, not the last one
    assert "join_cols = pto_join(join_cols, tid_cols);" in task_block(text, "cols")
    assert waits(task_block(text, "all")) == {"join_cols": "RAW out, WAW out"}


def test_bf16_scalars_pass_through_as_bits_and_arithmetic_names_the_line(tmp_path):
    import ml_dtypes

    from pto.codegen.cpp_scalar import OrchestrationUnsupported

    @pl.jit
    def scale(t: pl.Tensor[[2], pl.BF16], x: pl.Tensor[[4, 64], pl.BF16], out: pl.Out[pl.Tensor[[4, 64], pl.BF16]]):
        s = pl.read(t, [0])
        with pl.at(name_hint="scale"):
            out[:, :] = pl.mul(x, s)

    @pl.jit
    def scale_twice(t: pl.Tensor[[2], pl.BF16], x: pl.Tensor[[4, 64], pl.BF16],
                    out: pl.Out[pl.Tensor[[4, 64], pl.BF16]]):
        s = pl.read(t, [0])
        s2 = s * s
        with pl.at(name_hint="scale"):
            out[:, :] = pl.mul(x, s2)

    bf16 = ml_dtypes.bfloat16
    args = (np.zeros(2, bf16), np.zeros((4, 64), bf16), np.zeros((4, 64), bf16))
    text = emit_orchestration(compile_function(scale.compile(*args).function))
    assert "get_tensor_data<uint16_t>(t, 1, " in text
    syntax_check(text, tmp_path, "scale")
    from pto.codegen.cpp_scalar import OrchestrationUnsupported
    with pytest.raises(OrchestrationUnsupported, match="pl.mul on a bf16 scalar") as info:
        emit_orchestration(compile_function(scale_twice.compile(*args).function))
    assert "s2 = s * s" in str(info.value)


def test_a_task_with_more_scalars_than_the_runtime_carries_is_a_clear_error():
    names = [f"s{i}" for i in range(17)]
    ns: dict = {"pl": pl}
    exec("def many(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]], "  # noqa: S102
         + ", ".join(f"{n}: pl.Scalar[pl.FP32]" for n in names) + "):\n"
         "    with pl.at(name_hint='sum17'):\n"
         "        y = x\n" + "".join(f"        y = pl.add(y, {n})\n" for n in names)
         + "        out[:, :] = y\n", ns)
    many = pl.jit(ns["many"])
    x = np.zeros((2, 8), np.float32)
    c = compile_function(many.compile(x, np.zeros_like(x), *[1.0] * 17).function)
    from pto.codegen.cpp_scalar import OrchestrationUnsupported
    with pytest.raises(OrchestrationUnsupported, match=r"`sum17` takes 2 tensor and 17 scalar arguments.*16 scalars"):
        emit_orchestration(c)
