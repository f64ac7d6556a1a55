"""Found by the fuzzer's a2a3sim stage (program 40): a memory reuse ordered only through a task in
an `if` arm.

Buffer `s` is written by `fill` and read only inside `if n == 4`; a later buffer `t` takes its
bytes. The memory planner ordered `t`'s writer after `s`'s users by a path of edges — but the path
ran through the reader in the branch. When the branch is not taken that task does not exist, the
path with it, and `fill` and `make_t` race on the same bytes (the sanitizer: missing WAW edge).

Right behaviour: a dependency path that passes through a node inside a `pl.if` does not count as
ordering (memplan's reuse edges and its independent checker both skip such paths), so the reuse
gets its own edge from `fill`; both branches run clean under the sanitizer and every seed.
"""
from __future__ import annotations

import numpy as np

import pto.language as pl
from pto.passes.pipeline import compile_function
from pto.sim.a2a3sim import Simulation, SimOptions
from regression_helpers import assert_bitwise, exp32


@pl.jit
def reuse_after_branch(x: pl.Tensor[[8, 16], pl.FP32], n: pl.Scalar[pl.INT32],
                       out: pl.Out[pl.Tensor[[8, 16], pl.FP32]], out2: pl.Out[pl.Tensor[[8, 16], pl.FP32]]):
    with pl.scope():
        s = pl.create_tensor([8, 16], pl.FP32)
        with pl.at(name_hint="fill"):
            s[:, :] = pl.exp(x)
        out[:, :] = pl.mul(x, 2.0)
        if n == 4:
            with pl.at(name_hint="read_s"):
                out[:, :] = pl.add(s, x)
    t = pl.create_tensor([8, 16], pl.FP32)   # may take s's bytes: s is dead after the branch
    with pl.at(name_hint="make_t"):
        t[:, :] = pl.mul(x, x)
    with pl.at(name_hint="use_t"):
        out2[:, :] = pl.add(t, 1.0)


def test_reuse_after_a_reader_in_a_branch_is_ordered_in_both_arms():
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    c = compile_function(reuse_after_branch.compile(x, 0, np.zeros_like(x), np.zeros_like(x)).function)
    offsets = {a.name: a.offset for a in c.facts["memplan"].allocs}
    assert offsets["s"] == offsets["t"], "the plan no longer reuses s's bytes for t (the test needs it)"
    sim = Simulation(c)
    for n in (0, 4):
        for seed in (None, 0, 1, 2):
            out, out2 = np.zeros_like(x), np.zeros_like(x)
            sim.run([x, np.int32(n), out, out2], SimOptions(seed=seed))
            assert_bitwise(out, (exp32(x) + x) if n == 4 else x * np.float32(2.0))
            assert_bitwise(out2, x * x + np.float32(1.0))
