"""Dependency cases for data-dependent access, exact edge sets as in test_deps.py.

A pl.scatter's targets are data, so it writes (for reduce="add" also reads) the whole destination
view: every earlier access to any part of that view and every later reader gets an edge; accesses
outside the view do not. A pl.gather reads its whole source."""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto.passes.pipeline import compile_function


def edges(kernel, *args) -> set[tuple]:
    c = compile_function(kernel.compile(*args).function)
    return {e.fact() for e in c.facts["deps"]}


def f32(*shape):
    return np.zeros(shape, np.float32)


def i32(*shape):
    return np.zeros(shape, np.int32)


def test_scatter_writes_the_whole_destination():
    @pl.jit
    def k(idx: pl.Tensor[[2, 8], pl.INT32], x: pl.Tensor[[2, 8], pl.FP32], table: pl.InOut[pl.Tensor[[16, 8], pl.FP32]],
          early: pl.Out[pl.Tensor[[1, 8], pl.FP32]], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
        with pl.at(name_hint="read_row0"):
            early[:, :] = table[0:1, :]
        with pl.at(name_hint="write_row15"):
            table[15:16, :] = x[0:1, :]
        with pl.at(name_hint="scatter"):
            pl.scatter(table, idx, x)
        with pl.at(name_hint="read_row7"):
            out[:, :] = table[7:8, :]

    assert edges(k, i32(2, 8), f32(2, 8), f32(16, 8), f32(1, 8), f32(1, 8)) == {
        ("read_row0", "scatter", "WAR", "table", False),
        ("write_row15", "scatter", "WAW", "table", False),
        ("scatter", "read_row7", "RAW", "table", False)}  # rows 0, 15 and 7 are otherwise disjoint


def test_scatter_into_a_view_reaches_only_the_view():
    @pl.jit
    def k(idx: pl.Tensor[[2, 8], pl.INT32], x: pl.Tensor[[2, 8], pl.FP32], table: pl.InOut[pl.Tensor[[16, 8], pl.FP32]],
          low: pl.Out[pl.Tensor[[1, 8], pl.FP32]], high: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
        with pl.at(name_hint="scatter_top_half"):
            pl.scatter(table[0:8, :], idx, x)
        with pl.at(name_hint="read_row7"):
            low[:, :] = table[7:8, :]
        with pl.at(name_hint="read_row8"):
            high[:, :] = table[8:9, :]

    assert edges(k, i32(2, 8), f32(2, 8), f32(16, 8), f32(1, 8), f32(1, 8)) == {
        ("scatter_top_half", "read_row7", "RAW", "table", False)}


def test_scatter_add_reads_and_writes_its_destination():
    @pl.jit
    def k(idx: pl.Tensor[[1, 8], pl.INT32], counts: pl.Out[pl.Tensor[[1, 4], pl.INT32]]):
        with pl.at(name_hint="zero"):
            counts[:, :] = pl.full([1, 4], dtype=pl.INT32, value=0)
        with pl.at(name_hint="count"):
            pl.scatter(counts, idx, pl.full([1, 8], dtype=pl.INT32, value=1), dim=1, reduce="add")

    assert edges(k, i32(1, 8), i32(1, 4)) == {("zero", "count", "RAW", "counts", False),
                                              ("zero", "count", "WAW", "counts", False)}


def test_gather_reads_the_whole_source():
    @pl.jit
    def k(idx: pl.Tensor[[2, 8], pl.INT32], x: pl.Tensor[[1, 8], pl.FP32], table: pl.InOut[pl.Tensor[[16, 8], pl.FP32]],
          out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
        with pl.at(name_hint="write_row3"):
            table[3:4, :] = x
        with pl.at(name_hint="gather"):
            out[:, :] = pl.gather(table, idx)
        with pl.at(name_hint="write_row9"):
            table[9:10, :] = x

    assert edges(k, i32(2, 8), f32(1, 8), f32(16, 8), f32(2, 8)) == {
        ("write_row3", "gather", "RAW", "table", False), ("gather", "write_row9", "WAR", "table", False)}


def test_scatter_in_one_inline_helper_orders_a_read_in_another():
    """The helper returns nothing: the write through its parameter is still a version of the
    caller's buffer, so the later helper's read depends on it (docs/inline_ordering.md)."""
    @pl.jit.inline
    def dispatch(route, dst, w):
        with pl.at(name_hint="dispatch"):
            pl.scatter(route, dst, w)

    @pl.jit.inline
    def consume(route, out):
        with pl.at(name_hint="consume"):
            out[:, :] = pl.exp(route)

    @pl.jit
    def k(dst: pl.Tensor[[4, 1], pl.INT32], w: pl.Tensor[[4, 1], pl.FP32], out: pl.Out[pl.Tensor[[8, 1], pl.FP32]]):
        route = pl.create_tensor([8, 1], pl.FP32)
        with pl.at(name_hint="zero"):
            route[:, :] = pl.full([8, 1], dtype=pl.FP32, value=0.0)
        dispatch(route, dst, w)
        consume(route, out)

    assert edges(k, i32(4, 1), f32(4, 1), f32(8, 1)) == {
        ("zero", "dispatch", "WAW", "route", False), ("zero", "consume", "RAW", "route", False),
        ("dispatch", "consume", "RAW", "route", False)}


def test_scatter_in_a_loop_is_carried_to_the_next_iteration():
    @pl.jit
    def k(idx: pl.Tensor[[4, 1, 8], pl.INT32], x: pl.Tensor[[1, 8], pl.FP32], table: pl.InOut[pl.Tensor[[16, 8], pl.FP32]]):
        for i in pl.range(4):
            with pl.at(name_hint="step"):
                pl.scatter(table, pl.reshape(idx[i:i + 1, :, :], [1, 8]), pl.add(table[0:1, :], x))

    assert edges(k, i32(4, 1, 8), f32(1, 8), f32(16, 8)) == {
        ("step", "step", "RAW", "table", True), ("step", "step", "WAR", "table", True),
        ("step", "step", "WAW", "table", True)}


def test_the_inline_ordering_doc_shows_the_real_ir_and_edges():
    """docs/inline_ordering.md quotes `pto dump` and the edge set of its example: both must stay true."""
    from pathlib import Path

    from pto.cli import load_cases
    from pto.frontend.source import display_path
    from pto.ir.printer import print_function

    root = Path(__file__).resolve().parents[2]
    example = root / "tests" / "kernels" / "inline_ordering.py"
    case = load_cases(str(example), None)[0]
    function = case.kernel.compile(**case.make_inputs()).function
    dump = print_function(function)
    doc = (root / "docs" / "inline_ordering.md").read_text()
    quoted = doc.split("```\n  %recv_weights.6 = ", 1)[1].split("```", 1)[0]
    lines = ("  %recv_weights.6 = " + quoted).replace("tests/kernels/inline_ordering.py", display_path(str(example)))
    for line in lines.splitlines():
        assert line in dump.splitlines(), line
    c = compile_function(function)
    assert {e.fact() for e in c.facts["deps"]} == {
        ("zero", "write@22", "WAW", "recv_weights", False), ("zero", "expert", "RAW", "recv_weights", False),
        ("write@22", "write@22", "WAW", "recv_weights", True), ("write@22", "expert", "RAW", "recv_weights", False)}
    assert "| **write@22** | **expert** | **RAW** | **recv_weights** | no |" in doc
