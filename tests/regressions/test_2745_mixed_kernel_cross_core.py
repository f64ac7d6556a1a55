"""Mirrors hw-native-sys/pypto#2745: a mixed kernel omitted the cross-core sync (AIC -> AIV).

In one `pl.spmd` task the cube part (AIC) stored a matmul result and the vector part (AIV) loaded
it with no synchronization; with all-ones inputs and K = 512 every output element came back as 1
instead of 513 - reproduced on the reference's CPU simulator.

Right behaviour: a kernel that mixes cube and vector ops is split into an AIC part and an AIV part
that exchange the value on a channel (the AIV part pops exactly what the AIC part pushed, so it
cannot run ahead), and the answer is 513 everywhere - in the reference interpreter and in the
compiled program, where the two parts run side by side.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

import pto.language as pl
from pto.ir import ops
from regression_helpers import assert_bitwise, compiled, edges, ints, run_compiled

M, K, N = 32, 512, 64


@pl.jit
def matmul_then_vector(a: pl.Tensor[[M, K], pl.BF16], b: pl.Tensor[[K, N], pl.BF16],
                       out: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    for blk in pl.spmd(2, name_hint="mixed"):
        c = pl.matmul(a[blk * 16 : blk * 16 + 16, :], b, out_dtype=pl.FP32)    # AIC
        out[blk * 16 : blk * 16 + 16, :] = pl.add(c, 1.0)                      # AIV reads the AIC result


@pl.jit
def vector_then_matmul_then_vector(a: pl.Tensor[[M, K], pl.BF16], b: pl.Tensor[[K, N], pl.BF16],
                                   out: pl.Out[pl.Tensor[[M, N], pl.FP32]]):
    for blk in pl.spmd(2, name_hint="round_trip"):
        a2 = pl.cast(pl.mul(pl.cast(a[blk * 16 : blk * 16 + 16, :], pl.FP32), 2.0), pl.BF16)   # AIV
        c = pl.matmul(a2, b, out_dtype=pl.FP32)                                                # AIC
        out[blk * 16 : blk * 16 + 16, :] = pl.sub(c, 1.0)                                      # AIV


def _ones():
    return np.ones((M, K), ml_dtypes.bfloat16), np.ones((K, N), ml_dtypes.bfloat16), np.zeros((M, N), np.float32)


def test_the_mixed_kernel_is_split_into_parts_that_exchange_the_result():
    c = compiled(matmul_then_vector, *_ones())
    kernels = {f.name: f for f in c.program.functions[1:]}
    assert kernels["mixed"].attrs["core"] == "mixed"
    aic, aiv = (kernels[n] for n in kernels["mixed"].attrs["parts"])
    assert (aic.attrs["core"], aiv.attrs["core"]) == ("aic", "aiv")
    pushed = {op.channel for op in aic.walk() if isinstance(op, ops.TPush)}
    popped = {op.channel for op in aiv.walk() if isinstance(op, ops.TPop)}
    assert pushed and pushed <= popped                        # every AIC result is received by the AIV part
    assert not any(isinstance(op, ops.Matmul) for op in aiv.walk())
    assert edges(matmul_then_vector, *_ones()) == set()      # one task: nothing to order outside it


def test_all_ones_give_513_in_the_interpreter_and_in_the_compiled_program():
    a, b, out = _ones()
    matmul_then_vector(a, b, out)
    assert_bitwise(out, np.full((M, N), 513.0, np.float32))
    compiled_out = run_compiled(matmul_then_vector, a, b, np.zeros((M, N), np.float32))[-1]
    assert_bitwise(compiled_out, np.full((M, N), 513.0, np.float32))


def test_vector_cube_vector_round_trip_matches_the_golden():
    a = ints((M, K), 1, -2, 3, ml_dtypes.bfloat16)
    b = ints((K, N), 2, -2, 3, ml_dtypes.bfloat16)
    out = np.zeros((M, N), np.float32)
    vector_then_matmul_then_vector(a, b, out)
    want = (a.astype(np.float32) * 2) @ b.astype(np.float32) - np.float32(1)   # |sums| < 2**24: exact
    assert_bitwise(out, want)
    assert_bitwise(run_compiled(vector_then_matmul_then_vector, a, b, np.zeros_like(out))[-1], want)
