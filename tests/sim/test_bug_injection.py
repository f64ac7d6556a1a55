"""Bug injection: break one thing on purpose and the a2a3sim sanitizer (or runtime) names exactly it.

Each case compiles a small correct program, checks that it runs clean (so the finding is caused by
the injection, not by the program), applies one edit to the emitted orchestration C++ (the code a
device would run) and asserts the fault kind and the tasks it names. Faults are schedule
independent: the check replays accesses against the declared graph, so program order suffices.
"""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import pto.language as pl
from pto.codegen.orchestration import emit_orchestration, kernel_ids
from pto.errors import PlValueError
from pto.passes.pipeline import compile_function
from pto.sim.a2a3sim import A2a3SimError, Simulation, SimOptions
from pto.sim.sanitizer import SanitizerError

from programs import columns_then_all, produce_accumulate

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")

F32 = pl.FP32


@pl.jit
def read_then_overwrite(x: pl.Tensor[[4, 16], F32], buf: pl.InOut[pl.Tensor[[4, 16], F32]],
                        out: pl.Out[pl.Tensor[[4, 16], F32]]):
    with pl.at(name_hint="reader"):
        out[:, :] = pl.exp(buf)
    with pl.at(name_hint="writer"):      # WAR on buf: must wait for `reader`
        buf[:, :] = x


@pl.jit
def reshape_read_then_overwrite(x: pl.Tensor[[4, 16], F32], buf: pl.InOut[pl.Tensor[[4, 16], F32]],
                                out: pl.Out[pl.Tensor[[2, 32], F32]]):
    with pl.at(name_hint="reader"):
        out[:, :] = pl.exp(pl.reshape(buf, [2, 32]))   # read through a reshape view (cf. pypto#481)
    with pl.at(name_hint="writer"):
        buf[:, :] = x


@pl.jit
def write_twice(x: pl.Tensor[[4, 16], F32], out: pl.Out[pl.Tensor[[4, 16], F32]]):
    with pl.at(name_hint="first"):
        out[:, :] = x
    with pl.at(name_hint="second"):      # WAW on out: the later value must win
        out[:, :] = pl.exp(x)


@pl.jit
def two_lives(x: pl.Tensor[[4, 16], F32], out1: pl.Out[pl.Tensor[[4, 16], F32]],
              out2: pl.Out[pl.Tensor[[4, 16], F32]]):
    t1 = pl.create_tensor([4, 16], dtype=F32)
    with pl.at(name_hint="make1"):
        t1[:, :] = pl.exp(x)
    with pl.at(name_hint="use1"):
        out1[:, :] = pl.add(t1, x)
    t2 = pl.create_tensor([4, 16], dtype=F32)   # planned over t1's bytes once use1 has read them
    with pl.at(name_hint="make2"):
        t2[:, :] = pl.mul(x, x)
    with pl.at(name_hint="use2"):
        out2[:, :] = pl.add(x, t2)


@pl.jit
def bump_out(x: pl.Tensor[[4, 16], F32], out: pl.Out[pl.Tensor[[4, 16], F32]]):
    with pl.at(name_hint="bump"):
        out[:, :] = pl.add(out, x)        # reads an Out parameter nothing wrote


def _x(shape=(4, 16)) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _setup(kernel, *args):
    c = compile_function(kernel.compile(*args).function)
    return c, emit_orchestration(c)


def _run(c, text: str, args, seed=None):
    return Simulation(c, text).run([np.array(a) for a in args], SimOptions(seed=seed))


def _inject(text: str, old: str, new: str = "", count: int = 1) -> str:
    assert text.count(old) >= count, f"the injection site is gone from the emitted C++: {old!r}"
    return text.replace(old, new, count)


def _findings(c, text: str, args) -> list:
    with pytest.raises(SanitizerError) as info:
        _run(c, text, args)
    return info.value.findings


def _kernels(message: str) -> list[str]:
    return re.findall(r"task \d+ `(\w+)`", message)


def _clean_then_broken(kernel, args, old: str, new: str = "") -> list:
    c, text = _setup(kernel, *args)
    _run(c, text, args)  # the program itself is correct
    return _findings(c, _inject(text, old, new), args)


# --- missing edges ------------------------------------------------------------------------------------
def test_dropped_raw_edge():
    args = (_x((4, 64)), np.zeros((4, 64), np.float32))
    found = _clean_then_broken(columns_then_all, args, "if (join_cols.is_valid()) deps[ndeps++] = join_cols;")
    # `all` reads and rewrites `out` in place: each cols task misses a RAW and a WAW edge to it
    assert sorted(f.kind for f in found) == ["missing RAW edge"] * 4 + ["missing WAW edge"] * 4
    assert all(_kernels(f.message) == ["cols", "all"] for f in found)


def test_dropped_war_edge():
    args = (_x(), _x(), np.zeros((4, 16), np.float32))
    found = _clean_then_broken(read_then_overwrite, args, "if (tid_reader.is_valid()) deps[ndeps++] = tid_reader;")
    assert [(f.kind, _kernels(f.message)) for f in found] == [("missing WAR edge", ["reader", "writer"])]


def test_dropped_war_edge_through_a_reshape_view():
    args = (_x(), _x(), np.zeros((2, 32), np.float32))
    found = _clean_then_broken(reshape_read_then_overwrite, args,
                               "if (tid_reader.is_valid()) deps[ndeps++] = tid_reader;")
    assert [(f.kind, _kernels(f.message)) for f in found] == [("missing WAR edge", ["reader", "writer"])]


def test_dropped_waw_edge():
    args = (_x(), np.zeros((4, 16), np.float32))
    found = _clean_then_broken(write_twice, args, "if (tid_first.is_valid()) deps[ndeps++] = tid_first;")
    assert [(f.kind, _kernels(f.message)) for f in found] == [("missing WAW edge", ["first", "second"])]


def test_dropped_loop_carried_edge():
    args = (_x((8, 4)), np.zeros((8, 4), np.float32), np.zeros((1, 4), np.float32))
    found = _clean_then_broken(produce_accumulate, args,
                               "if (tid_accumulate.is_valid()) deps[ndeps++] = tid_accumulate;")
    # accumulate reads then writes acc, so the previous one's read is covered by its write: RAW + WAW
    assert {f.kind for f in found} == {"missing RAW edge", "missing WAW edge"}
    assert all(_kernels(f.message) == ["accumulate", "accumulate"] for f in found)


def test_redundant_edge_dropped_is_not_a_fault():
    # produce(i-1) -> accumulate(i-1) -> accumulate(i) still orders the loop-carried read of mid[i-1]
    args = (_x((8, 4)), np.zeros((8, 4), np.float32), np.zeros((1, 4), np.float32))
    c, text = _setup(produce_accumulate, *args)
    _run(c, _inject(text, "if (tid_produce_prev.is_valid()) deps[ndeps++] = tid_produce_prev;"), args)


def test_parallel_tasks_made_to_overlap():
    # every `cols` iteration now writes column block 0: unordered writes of the same bytes
    args = (_x((4, 64)), np.zeros((4, 64), np.float32))
    found = _clean_then_broken(columns_then_all, args, "args.add_scalar(i);  // i", "args.add_scalar(i - i);  // i")
    waw = [f for f in found if f.kind == "missing WAW edge"]
    assert waw and all(_kernels(f.message) == ["cols", "cols"] for f in waw)
    assert any(f.kind == "uninitialized read" for f in found)  # the other columns of `out`


# --- memory plan and lifetimes -------------------------------------------------------------------------
def test_reuse_one_task_early():
    # t2 may take t1's bytes once t1's last reader (use1) ran; the injected plan lets it in once
    # t1's writer (make1) ran: one task early
    args = (_x(), np.zeros((4, 16), np.float32), np.zeros((4, 16), np.float32))
    c, text = _setup(two_lives, *args)
    plan = {a.name: a.offset for a in c.facts["memplan"].allocs}
    assert plan["t1"] == plan["t2"], "the plan no longer reuses t1's bytes for t2"
    found = _clean_then_broken(two_lives, args, "deps[ndeps++] = tid_use1;  // REUSE t2",
                               "deps[ndeps++] = tid_make1;  // REUSE t2")
    assert [(f.kind, _kernels(f.message)) for f in found] == [("missing WAR edge", ["use1", "make2"])]
    assert "`t1`" in found[0].message and "`t2`" in found[0].message  # the message shows the reuse


def test_read_of_out_before_any_write():
    c, text = _setup(bump_out, _x(), np.zeros((4, 16), np.float32))
    found = _findings(c, text, (_x(), np.zeros((4, 16), np.float32)))
    assert [(f.kind, _kernels(f.message)) for f in found] == [("uninitialized read", ["bump"])]
    assert "`out`[0:4, 0:16]" in found[0].message


def test_write_one_row_past_the_declared_region():
    args = (_x(), np.zeros((4, 16), np.float32))
    c, text = _setup(write_twice, *args)
    short = ("const uint32_t short_shape[2] = {3, 16};\n    const uint32_t short_at[2] = {0, 0};\n"
             "    const ChipTensor out_short = out.view(short_shape, short_at);\n    // The latest submit")
    text = _inject(_inject(text, "// The latest submit", short), "args.add_output(out);  // out",
                   "args.add_output(out_short);  // out")
    with pytest.raises(PlValueError, match=r"out of bounds in dim 0.*kernel `first`") as info:
        _run(c, text, args)
    assert info.value.loc.line == write_twice.fn.__code__.co_firstlineno + 3  # `out[:, :] = x` in `first`


def _scoped_orchestration(c, reader_inside: bool, via_get: bool = False) -> str:
    """write_twice's kernels in a hand-written orchestration: `first` writes a runtime-allocated
    scope-local tensor; `second` (or a get_tensor_data) reads it inside or after that scope."""
    ids = kernel_ids(c.program)
    first, second = c.program.functions[1], c.program.functions[2]
    produce = _in_param_order(first, {"out": "a.add_output(info);", "x": "a.add_input(x);"})
    consume = _in_param_order(second, {"out": "b.add_output(out);", "x": "b.add_input(tmp);"})
    read = ("uint32_t at[2] = {0, 0};\n        (void)get_tensor_data<float>(tmp, 2, at);" if via_get else
            f"CoreTaskArgs b;\n        {consume}\n        b.set_dependencies(&producer, 1);\n"
            f"        rt_submit_aiv_task({ids[second.name]}, b);")
    return f"""#include "pto_orchestration.h"
extern "C" {{
__attribute__((visibility("default"))) PTO2OrchestrationConfig aicpu_orchestration_config(const ChipTaskArgs &) {{
    return PTO2OrchestrationConfig{{2}};
}}
__attribute__((visibility("default"))) void aicpu_orchestration_entry(const ChipTaskArgs &orch_args) {{
    const ChipTensor &x = orch_args.tensor(0).ref();
    const ChipTensor &out = orch_args.tensor(1).ref();
    const uint32_t shape[2] = {{4, 16}};
    TensorCreateInfo info(shape, 2, DataType::FLOAT32);
    ChipTensor tmp;
    PTO2TaskId producer;
    {{
        PTO2_SCOPE_GUARD();
        CoreTaskArgs a;
        {produce}
        TaskOutputTensors made = rt_submit_aiv_task({ids[first.name]}, a);
        tmp = made.get_ref(0);
        producer = made.task_id();
        {read if reader_inside else ""}
    }}
    {{
        {"" if reader_inside else read}
    }}
}}
}}
"""


def _in_param_order(kernel, adds: dict[str, str]) -> str:
    return "\n        ".join(adds[p.name] for p in kernel.params)


def test_scope_local_tensor_released_before_its_last_reader():
    args = (_x(), np.zeros((4, 16), np.float32))
    c, _ = _setup(write_twice, *args)
    _run(c, _scoped_orchestration(c, reader_inside=True), args)  # the reader inside the scope: fine
    with pytest.raises(A2a3SimError, match=r"task 1 `second` uses a tensor allocated by task 0 after its scope"):
        _run(c, _scoped_orchestration(c, reader_inside=False), args)


def test_orchestration_read_after_scope():
    args = (_x(), np.zeros((4, 16), np.float32))
    c, _ = _setup(write_twice, *args)
    with pytest.raises(A2a3SimError, match=r"get_tensor_data uses a tensor allocated by task 0 after its scope"):
        _run(c, _scoped_orchestration(c, reader_inside=False, via_get=True), args)


def test_untracked_reader_of_a_scope_local_tensor():
    # passed no_dep: the runtime may release (poison) the tensor before the reader runs
    args = (_x(), np.zeros((4, 16), np.float32))
    c, _ = _setup(write_twice, *args)
    text = _inject(_scoped_orchestration(c, reader_inside=True), "b.add_input(tmp);", "b.add_no_dep(tmp);")
    found = _findings(c, text, args)
    assert [(f.kind, _kernels(f.message)) for f in found] == [("untracked access", ["second"])]


def test_released_memory_is_poisoned_for_late_untracked_readers():
    # the same program under random schedules: whenever the reader runs after the release it
    # reads NaN; the sanitizer reports the untracked access in every schedule either way
    args = (_x(), np.zeros((4, 16), np.float32))
    c, _ = _setup(write_twice, *args)
    text = _inject(_scoped_orchestration(c, reader_inside=True), "b.add_input(tmp);", "b.add_no_dep(tmp);")
    sim = Simulation(c, text)
    saw_poison = False
    for seed in range(10):
        out = np.zeros((4, 16), np.float32)
        with pytest.raises(SanitizerError, match="untracked access"):
            sim.run([args[0].copy(), out], SimOptions(seed=seed))
        saw_poison |= bool(np.isnan(out).all())
    assert saw_poison, "no schedule ran the untracked reader after the release"


def test_dropped_dispatch_to_expert_edge_in_the_moe_layer():
    """docs/inline_ordering.md §3: the seed's failure, made on purpose. The scatter dispatch writes
    recv_x / recv_weights in one inline helper, the routed experts read them in another."""
    from pto.cli import load_cases
    (case,) = load_cases("tests/kernels/moe_dispatch.py", "ideal_scatter_full_odd")
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    c = compile_function(compiled.function)
    fresh = lambda: compiled.runtime_args((), {**case.make_inputs(), **case.consts})  # noqa: E731
    text = emit_orchestration(c)
    Simulation(c, text).run(fresh())
    edge = "if (tid_dispatch_scatter.is_valid()) deps[ndeps++] = tid_dispatch_scatter;  // RAW recv_weights, RAW recv_x"
    with pytest.raises(SanitizerError) as info:
        Simulation(c, _inject(text, edge)).run(fresh())
    raw = [f for f in info.value.findings if f.kind == "missing RAW edge"]
    assert any(_kernels(f.message) == ["dispatch_scatter", "routed_expert"] and "`recv_x`" in f.message for f in raw)
