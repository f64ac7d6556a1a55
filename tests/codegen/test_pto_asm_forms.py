"""PTO-AS forms one small kernel at a time: each is emitted in both spellings, the 0.1.1 text goes
through the real ptoas 0.1.1 (exit 0 required) and the current text, read back, computes bitwise
what the kernel IR computes. A form the 0.1.1 spelling cannot express must say why."""
from __future__ import annotations

import numpy as np
import pytest

import pto.language as pl
from pto.codegen.pto_asm import Unsupported, emit_kernel, kernel_functions
from pto.codegen.pto_reader import read_kernel
from pto.codegen.spelling import CURRENT, V0_1_1
from pto.ir.core import Program
from pto.passes.pipeline import compile_function
from pto.sim.interpreter import run_program


@pytest.fixture(scope="module")
def ptoas():
    from pto.codegen.ptoas_tool import find_ptoas, prepare_ptoas

    return find_ptoas() or prepare_ptoas()


def check_forms(jit_fn, args: list, ptoas) -> dict[str, str]:
    """Emit every kernel of `jit_fn(*args)`; returns {kernel: current text, kernel@0.1.1: text or
    the reason}. Asserts the read-back program computes bitwise the same outputs and that ptoas
    0.1.1 takes what the 0.1.1 spelling expresses."""
    from pto.codegen.ptoas_tool import validate

    compiled = jit_fn.compile(*args)
    program = compile_function(compiled.function).program
    texts, functions = {}, list(program.functions)
    for k in kernel_functions(program):
        texts[k.name] = emit_kernel(k, CURRENT)
        functions[functions.index(k)] = read_kernel(texts[k.name], k)
        try:
            old = emit_kernel(k, V0_1_1)
        except Unsupported as e:
            texts[k.name + "@0.1.1"] = f"unsupported: {e.reason}"
            continue
        result = validate(old, k.name, ptoas=ptoas)
        assert result.ok, "\n".join(result.diagnostics) + "\n" + old
        texts[k.name + "@0.1.1"] = old
    want = compiled.runtime_args(tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args), {})
    got = compiled.runtime_args(tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args), {})
    want_out, got_out = run_program(program, want), run_program(Program(functions), got)
    for a, b in zip([*want, *want_out], [*got, *got_out]):
        if isinstance(a, np.ndarray):
            assert a.tobytes() == b.tobytes(), "a kernel read back from its text computes differently"
    return texts


def test_tile_scalar_max_and_min(ptoas):
    """pl.maximum / pl.minimum with a scalar (either side) are tmaxs / tmins; ptoas 0.1.1 crashes
    on tmaxs, so that spelling reports it instead of sending it."""

    @pl.jit
    def clamp(x: pl.Tensor[[16, 64], pl.FP32], y: pl.Out[pl.Tensor[[16, 64], pl.FP32]],
              z: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
        with pl.at(name_hint="clamp_lo"):
            y[:, :] = pl.minimum(1.5, x[:, :])
        with pl.at(name_hint="clamp_hi"):
            z[:, :] = pl.maximum(pl.minimum(x[:, :], 1.5), -1.5)

    x = np.linspace(-3, 3, 16 * 64, dtype=np.float32).reshape(16, 64)
    texts = check_forms(clamp, [x, np.zeros_like(x), np.zeros_like(x)], ptoas)
    assert "pto.tmins ins(" in texts["clamp_lo"] and "pto.tmins" in texts["clamp_lo@0.1.1"]
    assert "pto.tmaxs ins(" in texts["clamp_hi"]
    assert texts["clamp_hi@0.1.1"].startswith("unsupported:") and "rc 134" in texts["clamp_hi@0.1.1"]


def test_reshapes_of_contiguous_gm_windows(ptoas):
    """A row of a 2-D parameter read as a column, and full rows read as [4, 32], are windows of a
    new tensor view over the same pointer; a run that starts inside a row of the new shape is not."""

    @pl.jit
    def regroup(w: pl.Tensor[[4, 16], pl.FP32], x: pl.Tensor[[8, 16], pl.FP32],
                y: pl.Out[pl.Tensor[[16, 16], pl.FP32]], z: pl.Out[pl.Tensor[[4, 32], pl.FP32]]):
        for t in pl.spmd(4, name_hint="col"):
            y[:, t * 4:t * 4 + 4] = pl.row_expand(pl.full([16, 4], dtype=pl.FP32, value=0.0),
                                                  pl.reshape(w[t:t + 1, :], [16, 1]))
        with pl.at(name_hint="rows"):
            z[:, :] = pl.add(pl.reshape(x[0:8, :], [4, 32]), pl.reshape(x[0:8, :], [4, 32]))

    w = np.arange(64, dtype=np.float32).reshape(4, 16)
    x = np.arange(128, dtype=np.float32).reshape(8, 16) / 7
    texts = check_forms(regroup, [w, x, np.zeros((16, 16), np.float32), np.zeros((4, 32), np.float32)], ptoas)
    assert "pto.tload" in texts["col@0.1.1"] and "pto.tload" in texts["rows@0.1.1"]

    @pl.jit
    def skewed(x: pl.Tensor[[8, 16], pl.FP32], z: pl.Out[pl.Tensor[[2, 4], pl.FP32]]):
        with pl.at(name_hint="skewed"):
            z[:, :] = pl.reshape(x[0:1, 2:10], [2, 4])  # starts 2 elements into a row of 4

    program = compile_function(skewed.compile(x, np.zeros((2, 4), np.float32)).function).program
    with pytest.raises(Unsupported, match="row boundary"):
        emit_kernel(kernel_functions(program)[0], CURRENT)


def test_zero_accumulator_loop_is_peeled(ptoas):
    """acc = 0; for k: acc = matmul_acc(acc, ...): the first iteration is a plain tmatmul into the
    accumulator's L0C buffer (nothing zeroes L0C), the rest accumulate in place in a loop that
    reuses the first iteration's tiles."""

    @pl.jit
    def kloop(a: pl.Tensor[[16, 96], pl.FP32], b: pl.Tensor[[96, 16], pl.FP32],
              c: pl.Out[pl.Tensor[[16, 16], pl.FP32]]):
        with pl.at(name_hint="kloop"):
            acc = pl.full([16, 16], dtype=pl.FP32, value=0.0)
            for k in pl.range(3):
                acc = pl.matmul_acc(acc, a[:, k * 32:k * 32 + 32], b[k * 32:k * 32 + 32, :])
            c[:, :] = acc

    rng = np.random.default_rng(1)
    a, b = rng.integers(-4, 5, (16, 96)).astype(np.float32), rng.integers(-4, 5, (96, 16)).astype(np.float32)
    texts = check_forms(kloop, [a, b, np.zeros((16, 16), np.float32)], ptoas)
    (text,) = (t for k, t in texts.items() if "@" not in k)
    assert text.count("pto.tmatmul ins(") == 1 and text.count("pto.tmatmul.acc ins(") == 1
    assert text.index("pto.tmatmul ins(") < text.index("scf.for") < text.index("pto.tmatmul.acc")
    assert " = %c1 to %c3 step %c1 {" in text  # the loop starts at the second iteration
    acc = text.split("pto.tmatmul.acc ins(")[1].split(",")[0]
    assert f"outs({acc} :" in text.split("pto.tmatmul.acc ins(")[1]  # in place
    assert text.count("pto.alloc_tile") == 5  # acc, and L1 + L0 tiles of each operand, once


def test_scalar_read_of_gm_waits_for_the_store_before_it(ptoas):
    """pl.read is pto.load_scalar at the flat offset (current spelling only); a read of GM the
    kernel stored to waits for the store's pipe first."""

    @pl.jit
    def rd(x: pl.Tensor[[8, 16], pl.FP32], y: pl.Out[pl.Tensor[[8, 16], pl.FP32]],
           z: pl.Out[pl.Tensor[[8, 16], pl.FP32]]):
        with pl.at(name_hint="rd"):
            y[:, :] = pl.mul(x[:, :], 2.0)
            z[:, :] = pl.add(x[:, :], pl.read(y, [3, 5]))

    x = np.arange(128, dtype=np.float32).reshape(8, 16)
    texts = check_forms(rd, [x, np.zeros_like(x), np.zeros_like(x)], ptoas)
    (name,) = (k for k in texts if "@" not in k)
    text = texts[name]
    assert "pto.load_scalar %y[%c53] : !pto.ptr<f32> -> f32" in text
    assert text.index("pto.tstore") < text.index("set_flag[<PIPE_MTE3>, <PIPE_S>") < text.index("pto.load_scalar")
    assert texts[name + "@0.1.1"] == "unsupported: a scalar read of GM (pl.read) in the 0.1.1 dialect"
