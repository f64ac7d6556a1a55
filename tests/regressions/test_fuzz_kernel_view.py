"""Found by the differential fuzzer (`pto.fuzz`, KNOWN_BUGS "kernel_view"). A silent wrong answer.

A `pl.at` (or `pl.spmd`) kernel that reads a buffer through a view after writing it returns that view
as the buffer's final version. outline.py's `_final_versions` takes, for each buffer parameter, the last
op result whose roots include it, and a `pl.slice`/`pl.reshape` of the written version qualifies. The
kernel function then returns e.g. `fp32[4, 16]` (or `fp32[2, 2]`) where the `pl.call` result is typed
`fp32[8, 8]` (the verifier does not compare the two), and inside a loop that result is carried into the
next iteration as "the buffer": the next write lands at offsets relative to the view. With the reshape
below, row 1 of `out` is written to row 2; with a slice, the next iteration fails with "index out of
bounds ... (tensor shape [2, 2])", or numpy's "cannot reshape array".

Right behaviour: a kernel returns the last *written* version of each buffer it writes; the compiled
program's result equals the reference interpreter's.
"""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from regression_helpers import assert_bitwise, ints, run_compiled


@pl.jit
def write_then_reshape(x: pl.Tensor[[8, 8], pl.FP32], out: pl.Out[pl.Tensor[[8, 8], pl.FP32]],
                       flat: pl.Out[pl.Tensor[[4, 16], pl.FP32]]):
    out[:, :] = pl.full([8, 8], pl.FP32, 0.0)
    for i in pl.range(2):
        with pl.at(name_hint="k"):
            out[i : i + 1, :] = x[i : i + 1, :]
            flat[:, :] = pl.reshape(out, [4, 16])  # reads `out` (through a view) after writing it


@pl.jit
def write_then_slice(x: pl.Tensor[[8, 8], pl.FP32], out: pl.Out[pl.Tensor[[8, 8], pl.FP32]],
                     flat: pl.Out[pl.Tensor[[4, 16], pl.FP32]]):
    out[:, :] = pl.full([8, 8], pl.FP32, 0.0)
    for i in pl.range(1, 4):
        with pl.at(name_hint="k"):
            out[i : i + 1, 0:4] = x[0:1, 0:4]
            flat[0:4, 0:1] = pl.reshape(pl.add(out[2:4, 0:2], 1.0), [4, 1])


def golden(kernel, x):
    out, flat = np.zeros((8, 8), np.float32), np.zeros((4, 16), np.float32)
    for i in range(2) if kernel is write_then_reshape else range(1, 4):
        if kernel is write_then_reshape:
            out[i] = x[i]
            flat[:] = out.reshape(4, 16)
        else:
            out[i, 0:4] = x[0, 0:4]
            flat[0:4, 0:1] = (out[2:4, 0:2] + np.float32(1.0)).reshape(4, 1)
    return out, flat


@pytest.mark.parametrize("kernel", [write_then_reshape, write_then_slice])
def test_kernel_that_reads_a_buffer_after_writing_it(kernel):
    x = ints((8, 8), seed=5) + np.float32(10)
    want_out, want_flat = golden(kernel, x)
    out, flat = np.zeros((8, 8), np.float32), np.zeros((4, 16), np.float32)
    kernel(x, out, flat)
    assert_bitwise(out, want_out)
    assert_bitwise(flat, want_flat)
    _, got_out, got_flat = run_compiled(kernel, x, np.zeros((8, 8), np.float32), np.zeros((4, 16), np.float32))
    assert_bitwise(got_out, want_out)
    assert_bitwise(got_flat, want_flat)
