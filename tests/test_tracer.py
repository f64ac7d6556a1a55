"""The tracer: memory effects through views and inline helpers, loops, branches, the jit cache."""
from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest

import pto.language as pl
from pto.errors import PlTypeError
from pto.ir import ops
from pto.ir.printer import print_function


def ops_of(fn, *args) -> list:
    return [type(op) for op in fn.compile(*args).function.walk()]


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_write_through_reshape_is_seen_by_reads_of_the_original_view():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        scratch = pl.create_tensor([4, 8], pl.FP32)
        flat = pl.reshape(scratch, [32])
        flat[0:32] = pl.reshape(x, [32])          # write through the reshape view
        out[:, :] = pl.mul(scratch, 2.0)           # read through the original tensor

    x, out = f32(4, 8), np.zeros((4, 8), np.float32)
    k(x, out)
    np.testing.assert_array_equal(out, x * 2)


def test_scalar_write_in_inline_helper_orders_later_reads():
    @pl.jit.inline
    def put(table, i, v):
        pl.write(table, [i, 0], v)                 # not returned: a write to the caller's buffer

    @pl.jit.inline
    def get(table, i):
        return pl.read(table, [i, 0])

    @pl.jit
    def k(x: pl.Tensor[[4, 1], pl.INT32], out: pl.Out[pl.Tensor[[4, 1], pl.INT32]]):
        out[:, :] = x
        for i in pl.range(4):
            put(out, i, get(out, i) + 1)
        put(out, 0, get(out, 3))

    x, out = np.arange(4, dtype=np.int32).reshape(4, 1), np.zeros((4, 1), np.int32)
    k(x, out)
    np.testing.assert_array_equal(out[:, 0], [4, 2, 3, 4])


def test_assemble_into_a_parameter_the_helper_does_not_return():
    @pl.jit.inline
    def fill_rows(dst, src, r):
        pl.assemble(dst, pl.exp(src[r : r + 2, :]), [r, 0])

    @pl.jit.inline
    def outer(dst, src):
        for r in pl.static_range(0, 4, 2):
            fill_rows(dst, src, r)

    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        outer(out, x)
        out[0:1, :] = pl.add(out[0:1, :], out[3:4, :])

    x, out = f32(4, 8), np.zeros((4, 8), np.float32)
    k(x, out)
    e = np.exp(x.astype(np.float64)).astype(np.float32)
    e[0] = e[0] + e[3]
    np.testing.assert_array_equal(out, e)
    assert ops_of(k, x, out).count(ops.InlineCall) == 3  # outer and, nested in it, 2 x fill_rows


def test_loop_carried_scalar_and_tile():
    @pl.jit
    def k(x: pl.Tensor[[8, 4], pl.FP32], out: pl.Out[pl.Tensor[[1, 4], pl.FP32]]):
        acc = pl.full([1, 4], pl.FP32, 0.0)
        n = pl.const(0, pl.INDEX)
        for i in pl.range(8):
            acc = pl.add(acc, x[i : i + 1, :])
            n = n + 1
        out[:, :] = pl.mul(acc, pl.cast(n, pl.FP32))

    x, out = f32(8, 4), np.zeros((1, 4), np.float32)
    k(x, out)
    acc = np.zeros((1, 4), np.float32)
    for i in range(8):
        acc = acc + x[i : i + 1]
    np.testing.assert_array_equal(out, acc * 8)


def test_loop_writes_to_outer_buffer_are_carried():
    @pl.jit
    def k(x: pl.Tensor[[8, 4], pl.FP32], out: pl.Out[pl.Tensor[[8, 4], pl.FP32]]):
        out[0:1, :] = x[0:1, :]
        for i in pl.range(1, 8):
            out[i : i + 1, :] = pl.add(out[i - 1 : i, :], x[i : i + 1, :])   # reads the previous write

    x, out = f32(8, 4), np.zeros((8, 4), np.float32)
    k(x, out)
    np.testing.assert_array_equal(out, np.cumsum(x, axis=0, dtype=np.float32))


def test_if_on_a_traced_scalar_is_a_branch_and_on_python_values_is_python():
    flag = True

    @pl.jit
    def k(x: pl.Tensor[[2, 4], pl.FP32], n: pl.Scalar[pl.INT32], out: pl.Out[pl.Tensor[[2, 4], pl.FP32]]):
        y = x
        if flag:
            y = pl.add(y, 1.0)
        if n > 0:
            y = pl.mul(y, 2.0)
        else:
            y = pl.neg(y)
        out[:, :] = y

    x = f32(2, 4)
    for n, want in ((3, (x + 1) * 2), (0, -(x + 1))):
        out = np.zeros_like(x)
        k(x, n, out)  # on a2a3sim: outline gives the branch's tile one buffer that each arm writes
        np.testing.assert_array_equal(out, want)
    kinds = ops_of(k, x, 1, out)
    assert kinds.count(ops.If) == 1 and kinds.count(ops.Add) == 1


def test_spmd_both_forms_and_tuple_return():
    @pl.jit
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        for b in pl.spmd(2, name_hint="loop_form"):
            out[b * 2 : b * 2 + 2, :] = pl.exp(x[b * 2 : b * 2 + 2, :])
        with pl.spmd(4, name_hint="with_form") as b:
            out[b : b + 1, :] = pl.add(out[b : b + 1, :], 1.0)
        total = pl.row_sum(out)
        return total, pl.col_sum(out)

    x, out = f32(4, 8), np.zeros((4, 8), np.float32)
    rows, cols = k(x, out)
    want = np.exp(x.astype(np.float64)).astype(np.float32) + 1
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(rows, want.sum(axis=1, keepdims=True, dtype=np.float32))
    assert cols.shape == (1, 8)


def test_scope_local_tensors_work_inside_their_scope():
    @pl.jit(auto_scope=False)
    def k(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[4, 8], pl.FP32]]):
        with pl.scope():
            tmp = pl.create_tensor([4, 8], pl.FP32)
            tmp[:, :] = pl.exp(x)
            with pl.scope():
                out[:, :] = pl.add(tmp, 1.0)

    x, out = f32(4, 8), np.zeros((4, 8), np.float32)
    k(x, out)
    np.testing.assert_array_equal(out, np.exp(x.astype(np.float64)).astype(np.float32) + 1)
    assert "auto_scope=false" in print_function(k.compile(x, out).function)


def test_second_call_with_the_same_key_does_not_trace(tmp_path):
    src = tmp_path / "kern.py"
    src.write_text(textwrap.dedent("""
        import pto.language as pl

        @pl.jit.inline
        def helper(t):
            return pl.add(t, 1.0)

        @pl.jit
        def k(x, out: pl.Out):
            out[:, :] = helper(x)
    """))
    spec = importlib.util.spec_from_file_location("kern", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x, out = f32(2, 4), np.zeros((2, 4), np.float32)
    mod.k(x, out)
    mod.k(x, out)
    assert mod.k.trace_count == 1
    mod.k(f32(4, 4), np.zeros((4, 4), np.float32))     # a new shape is a new specialization
    assert mod.k.trace_count == 2
    src.write_text(src.read_text().replace("1.0", "2.0"))  # the helper's source changed
    mod.k(x, out)
    assert mod.k.trace_count == 3


def test_every_op_carries_the_user_line():
    @pl.jit
    def k(x: pl.Tensor[[2, 4], pl.FP32], out: pl.Out[pl.Tensor[[2, 4], pl.FP32]]):
        out[:, :] = pl.exp(x)

    for op in k.compile(x := f32(2, 4), np.zeros_like(x)).function.walk():
        assert op.loc.file.endswith("test_tracer.py") and op.loc.line > 0


def test_sibling_loops_may_reuse_a_view_name():
    @pl.jit
    def k(x: pl.Tensor[[4, 16], pl.FP32], out: pl.Out[pl.Tensor[[4, 16], pl.FP32]]):
        with pl.at(name_hint="norm"):
            ss = pl.full([4, 1], dtype=pl.FP32, value=0.0)
            for c in pl.range(2):
                xc = x[:, c * 8 : c * 8 + 8]
                ss = pl.add(ss, pl.row_sum(xc))
            for c in pl.range(2):
                xc = x[:, c * 8 : c * 8 + 8]          # the same name, a new view: not loop-carried
                out[:, c * 8 : c * 8 + 8] = pl.row_expand_mul(xc, ss)

    x, out = f32(4, 16), np.zeros((4, 16), np.float32)
    k(x, out)
    ss = x[:, :8].sum(1, keepdims=True, dtype=np.float32) + x[:, 8:].sum(1, keepdims=True, dtype=np.float32)
    np.testing.assert_array_equal(out, x * ss)


def test_a_mixed_kernel_calling_an_inline_helper_splits():
    @pl.jit.inline
    def mm_exp(a, b):
        return pl.exp(pl.matmul(a, b))

    @pl.jit
    def k(a: pl.Tensor[[16, 32], pl.FP32], b: pl.Tensor[[32, 16], pl.FP32], out: pl.Out[pl.Tensor[[16, 16], pl.FP32]]):
        with pl.at(name_hint="mix"):
            out[:, :] = mm_exp(a, b)

    a, b = f32(16, 32) * 0.1, f32(32, 16, seed=1) * 0.1
    out = np.zeros((16, 16), np.float32)
    k(a, b, out)  # the test-wide fixture runs the split parts and compares bitwise
    np.testing.assert_allclose(out, np.exp((a @ b).astype(np.float64)), rtol=1e-5)


def test_an_entry_may_take_its_weights_as_keyword_arguments():
    """`**w`: one tensor parameter per key, in the order passed (a layer's many weights)."""
    @pl.jit
    def scaled_sum(x, out: pl.Out, scale, **w):
        for _ in pl.spmd(1):
            out[:, :] = pl.add(pl.mul(x[:, :], w["a"][:, :]), pl.mul(w["b"][:, :], scale))

    x, a, b = (np.full((4, 8), v, np.float32) for v in (1.0, 2.0, 3.0))
    out = np.zeros((4, 8), np.float32)
    scaled_sum(x, out, 2.0, a=a, b=b)
    assert (out == 8.0).all()
    f = scaled_sum.compile(x, out, 2.0, b=b, a=a).function
    assert [p.value.hint for p in f.params] == ["x", "out", "b", "a"]


def test_keyword_only_parameters_are_passed_by_keyword():
    """`*, cfg, scale`: constants after the star reach the function by name, tensors after **w too."""
    @pl.jit
    def scaled(x, out: pl.Out, *, scale, shift, **w):
        for _ in pl.spmd(1):
            out[:, :] = pl.add(pl.mul(x[:, :], scale), pl.add(w["bias"][:, :], shift))

    x, bias = np.full((4, 8), 2.0, np.float32), np.full((4, 8), 1.0, np.float32)
    out = np.zeros((4, 8), np.float32)
    scaled(x, out, shift=0.5, scale=3.0, bias=bias)
    assert (out == 7.5).all()


def test_an_entry_with_star_args_is_refused_at_its_definition():
    @pl.jit
    def star(*xs):
        pass

    with pytest.raises(PlTypeError, match=r"cannot take \*args") as e:
        star(np.zeros((4, 8), np.float32))
    assert e.value.loc.file.endswith("test_tracer.py")


def test_an_optional_tensor_parameter_may_be_left_out():
    """`extra: pl.InOut = None`: the trace sees None (one entry serves a layer with and without a cache)."""
    @pl.jit
    def maybe_bump(x, out: pl.Out, extra: pl.InOut = None):
        for _ in pl.spmd(1):
            out[:, :] = pl.add(x[:, :], 1.0)
            if extra is not None:
                extra[:, :] = pl.add(extra[:, :], 1.0)

    x, out, extra = np.zeros((4, 8), np.float32), np.zeros((4, 8), np.float32), np.ones((4, 8), np.float32)
    maybe_bump(x, out)
    assert (out == 1.0).all()
    maybe_bump(x, out, extra)
    assert (extra == 2.0).all()
    assert len(maybe_bump.compile(x, out).function.params) == 2
