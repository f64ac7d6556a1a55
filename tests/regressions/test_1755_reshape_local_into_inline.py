"""Mirrors hw-native-sys/pypto#1755: local tensor metadata missed `pl.reshape`.

The reference kept stale pre-reshape metadata for a local tensor, so passing a reshaped local into
an inline helper broke the parameter resolution of the helper's dependencies (#1335 had already
added `pl.slice` and dependency returns).

Right behaviour: a reshape of a local is a view of the same buffer. An inline helper given the
reshaped view writes the local's buffer; readers of the original (un-reshaped) local, in the caller
or in another helper that reshapes it differently, are ordered after the write and see it.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from regression_helpers import assert_bitwise, edges, exp32, normal


@pl.jit.inline
def write_rows(dst2d, src):
    with pl.at(name_hint="write_rows"):
        dst2d[:, :] = pl.exp(src)


@pl.jit.inline
def read_as_vector(src1d, out):
    with pl.at(name_hint="read_vector"):
        out[:, :] = pl.reshape(pl.add(src1d, 1.0), [2, 16])


@pl.jit
def reshaped_local(x: pl.Tensor[[4, 8], pl.FP32], out: pl.Out[pl.Tensor[[2, 16], pl.FP32]],
                   out3: pl.Out[pl.Tensor[[2, 2, 8], pl.FP32]]):
    scratch = pl.create_tensor([2, 16], pl.FP32)
    write_rows(pl.reshape(scratch, [4, 8]), x)           # the helper sees a [4, 8] view
    read_as_vector(pl.reshape(scratch, [1, 32]), out)    # another helper, another shape
    with pl.at(name_hint="read_3d"):
        out3[:, :, :] = pl.reshape(pl.mul(scratch, 2.0), [2, 2, 8])   # the caller, the original shape


def _args():
    return normal((4, 8)), np.zeros((2, 16), np.float32), np.zeros((2, 2, 8), np.float32)


def test_readers_of_other_shapes_depend_on_the_write_through_the_reshape():
    assert edges(reshaped_local, *_args()) == {
        ("write_rows", "read_vector", "RAW", "scratch", False),
        ("write_rows", "read_3d", "RAW", "scratch", False),
    }


def test_readers_of_other_shapes_see_the_write():
    x, out, out3 = _args()
    reshaped_local(x, out, out3)
    e = exp32(x)
    assert_bitwise(out, (e + np.float32(1)).reshape(2, 16))
    assert_bitwise(out3, (e * np.float32(2)).reshape(2, 2, 8))
