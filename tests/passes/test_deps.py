"""Dependency cases: each program's exact edge set, as (src, dst, kind, buffer, loop-carried)."""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlValueError
from pto.passes.pipeline import compile_function


def edges(kernel, *args) -> set[tuple]:
    c = compile_function(kernel.compile(*args).function)
    return {e.fact() for e in c.facts["deps"]}


def f32(*shape):
    return np.zeros(shape, np.float32)


def test_raw_through_a_reshape_view():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        buf = pl.create_tensor([4, 8], pl.FP32)
        flat = pl.reshape(buf, [32])
        with pl.at(name_hint="produce"):
            flat[0:32] = pl.reshape(pl.exp(x), [32])
        with pl.at(name_hint="consume"):
            out[:, :] = pl.add(buf, 1.0)

    assert edges(k, f32(4, 8), f32(4, 8)) == {("produce", "consume", "RAW", "buf", False)}


def test_war_kv_cache_writeback():
    @pl.jit
    def k(q: pl.Tensor[[1, 16], pl.FP32], new_kv: pl.Tensor[[1, 16], pl.FP32],
          kv_cache: pl.InOut[pl.Tensor[[8, 16], pl.FP32]], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
        with pl.at(name_hint="attend"):
            out[:, :] = pl.matmul(q, kv_cache, b_trans=True)
        with pl.at(name_hint="writeback"):
            kv_cache[3:4, :] = new_kv

    assert edges(k, f32(1, 16), f32(1, 16), f32(8, 16), f32(1, 8)) == {
        ("attend", "writeback", "WAR", "kv_cache", False)}


def test_waw_and_disjoint_writes():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        with pl.at(name_hint="first"):
            out[0:2, :] = x[0:2, :]
        with pl.at(name_hint="other_rows"):
            out[2:4, :] = x[2:4, :]
        with pl.at(name_hint="again"):
            out[1:3, :] = pl.exp(x[1:3, :])

    assert edges(k, f32(4, 8), f32(4, 8)) == {
        ("first", "again", "WAW", "out", False), ("other_rows", "again", "WAW", "out", False)}


def test_scalar_write_in_an_inline_helper_orders_the_later_reader():
    @pl.jit.inline
    def set_count(table, n):
        pl.write(table, [0, 0], n)

    @pl.jit.inline
    def use_count(table, x, out):
        with pl.at(name_hint="reader"):
            out[:, :] = pl.mul(x, pl.cast(pl.read(table, [0, 0]), pl.FP32))

    @pl.jit
    def k(x: pl.Tensor[[1, 8], pl.FP32], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
        table = pl.create_tensor([1, 1], pl.INT32)
        set_count(table, pl.const(3, pl.INT32))
        use_count(table, x, out)

    got = edges(k, f32(1, 8), f32(1, 8))
    line = next(n for n in {e[0] for e in got} if n.startswith("write@"))
    assert got == {(line, "reader", "RAW", "table", False)}


def test_assemble_into_a_parameter_the_helper_does_not_return():
    @pl.jit.inline
    def fill(dst, src):
        with pl.at(name_hint="fill"):
            pl.assemble(dst, pl.exp(src), [0, 0])

    @pl.jit
    def k(x: pl.Tensor[[2, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 8], pl.FP32]]):
        tmp = pl.create_tensor([2, 8], pl.FP32)
        fill(tmp, x)
        with pl.at(name_hint="use"):
            out[:, :] = pl.add(tmp, x)

    assert edges(k, f32(2, 8), f32(2, 8)) == {("fill", "use", "RAW", "tmp", False)}


def test_disjoint_column_writes_in_parallel_have_no_edge():
    @pl.jit
    def k(x: pl.Tensor[[4, 64], pl.FP32], out: pl.Out[pl.Tensor[[4, 64], pl.FP32]]):
        for j in pl.parallel(4):
            with pl.at(name_hint="cols"):
                out[:, j * 16 : j * 16 + 16] = pl.exp(x[:, j * 16 : j * 16 + 16])

    assert edges(k, f32(4, 64), f32(4, 64)) == set()


def test_overlapping_parallel_iterations_are_a_compile_error():
    @pl.jit
    def k(x: pl.Tensor[[4, 64], pl.FP32], out: pl.Out[pl.Tensor[[4, 64], pl.FP32]]):
        for j in pl.parallel(4):
            with pl.at(name_hint="cols"):
                out[:, j * 8 : j * 8 + 16] = pl.exp(x[:, j * 16 : j * 16 + 16])

    with pytest.raises(PlValueError, match="pl.parallel loop conflict.*cols"):
        edges(k, f32(4, 64), f32(4, 64))


def test_data_dependent_row_write_is_ordered_conservatively():
    @pl.jit
    def k(idx: pl.Tensor[[1, 1], pl.INT32], x: pl.Tensor[[1, 8], pl.FP32],
          table: pl.InOut[pl.Tensor[[8, 8], pl.FP32]], out: pl.Out[pl.Tensor[[1, 8], pl.FP32]]):
        r = pl.read(idx, [0, 0])
        with pl.at(name_hint="scatter_row"):
            table[r : r + 1, :] = x
        with pl.at(name_hint="read_row7"):
            out[:, :] = table[7:8, :]

    assert edges(k, np.zeros((1, 1), np.int32), f32(1, 8), f32(8, 8), f32(1, 8)) == {
        ("scatter_row", "read_row7", "RAW", "table", False)}


def test_loop_carried_raw_between_iterations():
    @pl.jit
    def k(x: pl.Tensor[[8, 4], pl.FP32], out: pl.InOut[pl.Tensor[[8, 4], pl.FP32]]):
        for i in pl.range(1, 8):
            with pl.at(name_hint="step"):
                out[i : i + 1, :] = pl.add(out[i - 1 : i, :], x[i : i + 1, :])

    assert edges(k, f32(8, 4), f32(8, 4)) == {("step", "step", "RAW", "out", True)}
