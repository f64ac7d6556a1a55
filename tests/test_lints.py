"""Lints on traced IR: each check fires on a small kernel with the mistake and not on its fix.

Expected lines are found through `# LINT: <tag>` marker comments in this file, so the tests do not
depend on line numbers.
"""
from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.lints import Warning, lint

T, H, D = 2, 4, 8
ROOT = Path(__file__).resolve().parent.parent


def marker(tag: str) -> int:
    """The line of this file carrying the comment `# LINT: tag`."""
    lines = inspect.getsource(sys.modules[__name__]).splitlines()
    hits = [i for i, text in enumerate(lines, 1) if text.rstrip().endswith(f"# LINT: {tag}")]
    assert len(hits) == 1, f"marker {tag!r} found {len(hits)} times"
    return hits[0]


def lints_of(kernel, *args) -> list[Warning]:
    return lint(kernel.compile(*args).function)


def found(warnings: list[Warning], code: str | None = None) -> list[tuple[str, int]]:
    """(code, line) of each warning (of one code when given)."""
    return [(w.code, w.loc.line) for w in warnings if code is None or w.code == code]


def f32(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


# --- early-declaration: the seeds/003 q_flat review comment ---------------------------------------
@pl.jit(auto_scope=False)
def q_flat_at_top(q: pl.Tensor[[T, H, D], pl.FP32], bias: pl.Tensor[[T * H, D], pl.FP32],
                  out: pl.Out[pl.Tensor[[T * H, D], pl.FP32]]):
    q_flat = pl.reshape(q, [T * H, D])  # LINT: q_flat_top
    stage = pl.create_tensor([T * H, D], dtype=pl.FP32)
    scale = pl.create_tensor([T * H, 1], dtype=pl.FP32)
    for s_t in pl.spmd(T, name_hint="stage"):
        stage[s_t * H : s_t * H + H, :] = pl.exp(bias[s_t * H : s_t * H + H, :])
        scale[s_t * H : s_t * H + H, :] = pl.row_max(bias[s_t * H : s_t * H + H, :])
    with pl.scope():  # LINT: q_flat_scope
        for qk_t in pl.spmd(T, name_hint="qk"):
            qk_q = q_flat[qk_t * H : qk_t * H + H, :]  # LINT: q_flat_use
            qk_s = pl.row_expand_mul(stage[qk_t * H : qk_t * H + H, :], scale[qk_t * H : qk_t * H + H, :])
            out[qk_t * H : qk_t * H + H, :] = pl.add(qk_q, qk_s)


@pl.jit(auto_scope=False)
def q_flat_in_scope(q: pl.Tensor[[T, H, D], pl.FP32], bias: pl.Tensor[[T * H, D], pl.FP32],
                    out: pl.Out[pl.Tensor[[T * H, D], pl.FP32]]):
    stage = pl.create_tensor([T * H, D], dtype=pl.FP32)
    scale = pl.create_tensor([T * H, 1], dtype=pl.FP32)
    for s_t in pl.spmd(T, name_hint="stage"):
        stage[s_t * H : s_t * H + H, :] = pl.exp(bias[s_t * H : s_t * H + H, :])
        scale[s_t * H : s_t * H + H, :] = pl.row_max(bias[s_t * H : s_t * H + H, :])
    with pl.scope():
        q_flat = pl.reshape(q, [T * H, D])
        for qk_t in pl.spmd(T, name_hint="qk"):
            qk_q = q_flat[qk_t * H : qk_t * H + H, :]
            qk_s = pl.row_expand_mul(stage[qk_t * H : qk_t * H + H, :], scale[qk_t * H : qk_t * H + H, :])
            out[qk_t * H : qk_t * H + H, :] = pl.add(qk_q, qk_s)


def seed_args():
    return f32(T, H, D), f32(T * H, D), np.zeros((T * H, D), np.float32)


def test_q_flat_declared_at_the_top_but_used_only_in_a_later_scope_is_flagged():
    warnings = lints_of(q_flat_at_top, *seed_args())
    assert found(warnings) == [("early-declaration", marker("q_flat_top"))]
    (w,) = warnings
    assert w.loc.file.endswith("test_lints.py")
    assert "'q_flat'" in w.message and "pl.reshape" in w.message
    assert f"first used at line {marker('q_flat_use')}" in w.message
    assert f"pl.scope at line {marker('q_flat_scope')}" in w.message
    assert str(w) == f"{w.loc.file}:{marker('q_flat_top')}: warning: {w.message}"


def test_q_flat_declared_inside_its_scope_is_not_flagged():
    assert lints_of(q_flat_in_scope, *seed_args()) == []
    out_top, out_in = seed_args()[2], seed_args()[2]
    q_flat_at_top(*seed_args()[:2], out_top)
    q_flat_in_scope(*seed_args()[:2], out_in)
    np.testing.assert_array_equal(out_top, out_in)  # the fix changes nothing but the live range


def test_buffer_created_before_an_unrelated_kernel_is_flagged_and_just_before_its_user_is_not():
    @pl.jit
    def early(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        tmp = pl.create_tensor([4, 8], pl.FP32)  # LINT: tmp_early
        with pl.at(name_hint="first"):
            out[:, :] = pl.exp(x)
        with pl.at(name_hint="second"):
            tmp[:, :] = pl.add(out, 1.0)
            out[:, :] = pl.mul(tmp, x)

    @pl.jit
    def tight(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        with pl.at(name_hint="first"):
            out[:, :] = pl.exp(x)
        tmp = pl.create_tensor([4, 8], pl.FP32)
        for r in pl.range(4):                     # only scalar work or declarations may sit between
            tmp[r : r + 1, :] = pl.add(out[r : r + 1, :], 1.0)
        out[:, :] = pl.mul(tmp, x)

    args = f32(4, 8), np.zeros((4, 8), np.float32)
    assert found(lints_of(early, *args)) == [("early-declaration", marker("tmp_early"))]
    assert lints_of(tight, *args) == []


def test_early_view_used_only_inside_a_loop_is_flagged():
    @pl.jit(auto_scope=False)
    def k(q: pl.Tensor[[T, H, D], pl.FP32], out: pl.Out[pl.Tensor[[T * H, D], pl.FP32]]):
        q_flat = pl.reshape(q, [T * H, D])  # LINT: q_flat_loop
        out[:, :] = pl.full([T * H, D], pl.FP32, 0.0)
        with pl.scope():
            for r in pl.range(T * H):
                out[r : r + 1, :] = q_flat[r : r + 1, :]

    assert found(lints_of(k, f32(T, H, D), np.zeros((T * H, D), np.float32)),
                 "early-declaration") == [("early-declaration", marker("q_flat_loop"))]


# --- out-read-before-write ------------------------------------------------------------------------
def test_out_read_before_any_write_is_flagged_once():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        for r in pl.range(4):
            out[r : r + 1, :] = pl.add(out[r : r + 1, :], x[r : r + 1, :])  # LINT: out_read
        out[0:1, :] = pl.exp(out[0:1, :])

    warnings = lints_of(k, f32(4, 8), np.zeros((4, 8), np.float32))
    assert found(warnings) == [("out-read-before-write", marker("out_read"))]
    assert "'out'" in warnings[0].message


def test_out_written_first_then_read_or_inout_read_is_not_flagged():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], acc: pl.InOut[pl.Tensor[[4, 8], pl.FP32]],
          out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        tail = out[2:4, :]
        tail[:, :] = x[2:4, :]                    # a write through a view is not a read
        out[0:2, :] = x[0:2, :]
        for r in pl.range(1, 4):
            out[r : r + 1, :] = pl.add(out[r - 1 : r, :], x[r : r + 1, :])
        acc[:, :] = pl.add(acc, out)

    assert lints_of(k, f32(4, 8), f32(4, 8), np.zeros((4, 8), np.float32)) == []


# --- output-never-written -------------------------------------------------------------------------
def test_output_never_written_is_flagged_for_out_and_inout():
    @pl.jit  # LINT: never_written
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]],
          acc: pl.InOut[pl.Tensor[[4, 8], pl.FP32]], spare: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        with pl.at(name_hint="k"):
            out[:, :] = pl.add(x, acc)

    warnings = lints_of(k, f32(4, 8), np.zeros((4, 8), np.float32), f32(4, 8), np.zeros((4, 8), np.float32))
    line = marker("never_written")
    assert found(warnings) == [("output-never-written", line)] * 2
    assert ["'acc'" in w.message for w in warnings] == [True, False]
    assert "'spare'" in warnings[1].message


def test_outputs_written_in_a_loop_or_inline_helper_are_not_flagged():
    @pl.jit.inline
    def fill(dst, src):
        pl.assemble(dst, pl.exp(src), [0, 0])

    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]],
          acc: pl.InOut[pl.Tensor[[4, 8], pl.FP32]]):
        fill(out, x)
        for r in pl.range(4):
            pl.write(acc, [r, 0], pl.read(x, [r, 0]))

    assert lints_of(k, f32(4, 8), np.zeros((4, 8), np.float32), f32(4, 8)) == []


# --- unused-tensor --------------------------------------------------------------------------------
def test_created_tensor_never_used_or_never_read_is_flagged():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        idle = pl.create_tensor([4, 8], pl.FP32)  # LINT: idle
        sink = pl.create_tensor([4, 8], pl.FP32)  # LINT: sink
        sink[:, :] = pl.exp(x)
        out[:, :] = x

    warnings = lints_of(k, f32(4, 8), np.zeros((4, 8), np.float32))
    assert found(warnings) == [("unused-tensor", marker("idle")), ("unused-tensor", marker("sink"))]
    assert "'idle' is never used" in warnings[0].message
    assert "'sink' is written but never read" in warnings[1].message


def test_created_tensor_read_through_a_view_is_not_flagged():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        tmp = pl.create_tensor([4, 8], pl.FP32)
        tmp[:, :] = pl.exp(x)
        out[:, :] = pl.reshape(pl.reshape(tmp, [32]), [4, 8])

    assert lints_of(k, f32(4, 8), np.zeros((4, 8), np.float32)) == []


# --- the command line -----------------------------------------------------------------------------
def test_pto_dump_prints_lint_warnings_on_stderr(tmp_path):
    case = tmp_path / "lint_case.py"
    case.write_text(inspect.cleandoc('''
        import numpy as np
        import pto.language as pl
        from pto import testing as pt

        @pl.jit
        def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
            idle = pl.create_tensor([4, 8], pl.FP32)
            out[:, :] = x

        CASES = [pt.Case("idle", k, {"x": pt.zeros((4, 8), pl.FP32), "out": pt.zeros((4, 8), pl.FP32)},
                         lambda x, out: {"out": x})]
    '''))
    for command in ("dump", "run"):
        proc = subprocess.run([sys.executable, "-m", "pto.cli", command, case.name], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines() == ["lint_case.py:7: warning: the tensor 'idle' is never used"]
