"""Mirrors hw-native-sys/pypto#1269: `pl.Out` parameters of inline functions alias the caller's tensor.

The reference documents (FunctionType.Inline + JIT inline/opaque) that `pl.assemble` has a side
effect - it writes memory and returns a fresh SSA handle - and that caller reads see an inline
helper's writes through aliasing, not through SSA. A dependency analysis that follows only returned
SSA values misses the write.

Right behaviour (DESIGN.md §3): a write through a helper's parameter is a write to the caller's
buffer, visible to every later reader through any view, whether the helper returns the tensor, a
view of it, or nothing; a `@pl.jit` entry called from another entry behaves the same. Each reader
task gets the RAW edge and the answer is the sequential one.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, exp32, normal

R, D = 4, 16


@pl.jit.inline
def fill_no_return(dst, src):
    with pl.at(name_hint="fill"):
        pl.assemble(dst, pl.exp(src[0:2, :]), [0, 0])    # the result handle is dropped
        dst[2:4, :] = pl.neg(src[2:4, :])


@pl.jit.inline
def fill_return_view(dst, src):
    with pl.at(name_hint="fill_top"):
        dst[0:2, :] = pl.exp(src[0:2, :])
    return dst[2:4, :]                                   # a view the caller writes through


@pl.jit
def sub_entry(src: pl.Tensor[[R, D], pl.FP32], dst: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    with pl.at(name_hint="entry_fill"):
        dst[:, :] = pl.mul(src, 3.0)


@pl.jit
def caller_no_return(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    tmp = pl.create_tensor([R, D], pl.FP32)
    fill_no_return(tmp, x)
    with pl.at(name_hint="use_bottom"):
        out[2:4, :] = pl.add(tmp[2:4, :], 1.0)           # a different view than the helper's
    with pl.at(name_hint="use_top"):
        out[0:2, :] = pl.mul(tmp[0:2, :], 2.0)


@pl.jit
def caller_return_view(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    tmp = pl.create_tensor([R, D], pl.FP32)
    bottom = fill_return_view(tmp, x)
    with pl.at(name_hint="fill_bottom"):
        bottom[:, :] = pl.neg(x[2:4, :])
    with pl.at(name_hint="use_all"):
        out[:, :] = pl.add(tmp, 1.0)


@pl.jit
def caller_of_entry(x: pl.Tensor[[R, D], pl.FP32], out: pl.Out[pl.Tensor[[R, D], pl.FP32]]):
    tmp = pl.create_tensor([R, D], pl.FP32)
    sub_entry(x, tmp)
    with pl.at(name_hint="use"):
        out[:, :] = pl.sub(tmp, x)


def _args():
    return normal((R, D)), np.zeros((R, D), np.float32)


def test_write_through_a_parameter_the_helper_does_not_return():
    x, out = _args()
    assert edges(caller_no_return, x, out) == {
        ("fill", "use_bottom", "RAW", "tmp", False), ("fill", "use_top", "RAW", "tmp", False)}
    caller_no_return(x, out)
    assert_bitwise(out, np.concatenate([exp32(x[0:2]) * np.float32(2), -x[2:4] + np.float32(1)]))


def test_write_through_a_returned_view():
    x, out = _args()
    assert edges(caller_return_view, x, out) == {
        ("fill_top", "use_all", "RAW", "tmp", False), ("fill_bottom", "use_all", "RAW", "tmp", False)}
    caller_return_view(x, out)
    assert_bitwise(out, np.concatenate([exp32(x[0:2]), -x[2:4]]) + np.float32(1))


def test_an_entry_called_from_an_entry_writes_the_callers_buffer():
    x, out = _args()
    assert edges(caller_of_entry, x, out) == {("entry_fill", "use", "RAW", "tmp", False)}
    caller_of_entry(x, out)
    assert_bitwise(out, x * np.float32(3) - x)
