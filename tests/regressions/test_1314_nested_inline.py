"""Mirrors hw-native-sys/pypto#1302 -> hw-native-sys/pypto#1314: nested `@pl.jit.inline` calls.

An inline -> inline call failed with `Unsupported function call` because the reference's dependency
discovery was shallow (one level); the fix walked the call graph transitively.

Right behaviour: inline helpers may call inline helpers to any depth; every level is expanded at
its call site (three nested `pl.inline_call` regions for three levels here), the innermost helper's
writes to the caller's buffer are ordered before the caller's reader, and the answer is the
sequential one. Editing the innermost helper's source invalidates the compile cache (its key
includes the source of every function the trace reached, however deep).
"""
from __future__ import annotations

import importlib.util
import textwrap

import numpy as np

import pto.language as pl
from pto.ir import ops
from regression_helpers import assert_bitwise, edges, exp32, normal


@pl.jit.inline
def leaf(dst, src, r):
    with pl.at(name_hint="leaf_write"):
        dst[r : r + 2, :] = pl.exp(src[r : r + 2, :])


@pl.jit.inline
def middle(dst, src):
    for r in pl.static_range(0, 4, 2):
        leaf(dst, src, r)


@pl.jit.inline
def top(dst, src):
    middle(dst, src)
    with pl.at(name_hint="top_fix"):
        dst[0:1, :] = pl.add(dst[0:1, :], dst[3:4, :])   # reads what two levels down wrote


@pl.jit
def three_levels(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
    scratch = pl.create_tensor([4, 8], pl.FP32)
    top(scratch, x)
    with pl.at(name_hint="consume"):
        out[:, :] = pl.add(scratch, 1.0)


def _args():
    return normal((4, 8)), np.zeros((4, 8), np.float32)


def test_three_levels_are_expanded():
    kinds = [type(op) for op in three_levels.compile(*_args()).function.walk()]
    assert kinds.count(ops.InlineCall) == 4  # top, middle, and leaf twice


def test_three_levels_order_every_write_before_its_readers():
    assert edges(three_levels, *_args()) == {
        ("leaf_write", "top_fix", "RAW", "scratch", False),     # rows 0:2 -> row 0
        ("leaf_write_2", "top_fix", "RAW", "scratch", False),   # rows 2:4 -> row 3
        ("leaf_write", "top_fix", "WAW", "scratch", False),
        ("leaf_write", "consume", "RAW", "scratch", False),
        ("leaf_write_2", "consume", "RAW", "scratch", False),
        ("top_fix", "consume", "RAW", "scratch", False),
    }


def test_three_levels_give_the_sequential_answer():
    x, out = _args()
    three_levels(x, out)
    e = exp32(x)
    e[0] = e[0] + e[3]
    assert_bitwise(out, e + np.float32(1))


def test_editing_the_innermost_helper_invalidates_the_cache(tmp_path):
    src = tmp_path / "nested_kern.py"
    src.write_text(textwrap.dedent("""
        import pto.language as pl

        @pl.jit.inline
        def inner(t):
            return pl.add(t, 1.0)

        @pl.jit.inline
        def outer(t):
            return pl.mul(inner(t), 2.0)

        @pl.jit
        def k(x, out: pl.Out):
            out[:, :] = outer(x)
    """))
    spec = importlib.util.spec_from_file_location("nested_kern", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x, out = normal((2, 4)), np.zeros((2, 4), np.float32)
    mod.k(x, out)
    assert_bitwise(out, (x + np.float32(1)) * np.float32(2))
    mod.k(x, out)
    assert mod.k.trace_count == 1
    src.write_text(src.read_text().replace("1.0", "5.0"))   # only the innermost helper's source changes
    mod.k(x, out)
    assert mod.k.trace_count == 2
