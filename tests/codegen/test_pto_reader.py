"""Kernels run from their emitted PTO-AS text (current spelling): read back into kernel IR, they
compute bitwise what the kernel IR computes, for every example and DSL test kernel the spelling
can express (the others are listed)."""
from __future__ import annotations

import sys

import numpy as np

from pto.cli import load_cases
from pto.codegen.pto_asm import Unsupported, emit_kernel, kernel_functions
from pto.codegen.pto_reader import read_kernel
from pto.codegen.spelling import CURRENT
from pto.ir.core import Program
from pto.ir.verifier import verify_function
from pto.passes.pipeline import compile_function
from pto.sim.interpreter import run_program

from case_files import CASE_FILES, ROOT


def _run(program, case, compiled):
    args = compiled.runtime_args((), {**case.make_inputs(), **case.consts})
    outs = run_program(program, args)
    return [a for a in args if isinstance(a, np.ndarray)] + outs


def test_kernels_read_back_from_text_compute_the_same(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    read, kept = [], []
    for path in CASE_FILES:
        for case in load_cases(str(path), None):
            compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
            c = compile_function(compiled.function)
            want = _run(c.program, case, compiled)
            functions = list(c.program.functions)
            for k in kernel_functions(c.program):
                try:
                    text = emit_kernel(k, CURRENT)
                except Unsupported as e:
                    kept.append(f"{path.stem}:{k.name}: {e}")
                    continue
                parsed = read_kernel(text, k)
                verify_function(parsed)
                functions[functions.index(k)] = parsed
                read.append(k.name)
            got = _run(Program(functions), case, compiled)
            for a, b in zip(want, got):
                assert a.tobytes() == b.tobytes(), f"{case.name}: a kernel read from its text computes differently"
    with capsys.disabled():
        print(f"\nran {len(read)} kernels from their PTO-AS text; kept as IR ({len(kept)}):", file=sys.stderr)
        for line in sorted(set(kept)):
            print("  " + line, file=sys.stderr)
    assert {"softmax_2", "mm_tiles", "mm_exp__aic", "mm_exp__aiv"} <= set(read)


def test_a_square_transposed_operand_stays_transposed():
    """A [16, 16] window loaded transposed has the shape of an untransposed one: the reader must
    tell them apart by the tile's layout (it once went by shape and silently dropped b_trans)."""
    import pto.language as pl

    @pl.jit
    def abt(a: pl.Tensor[[16, 16], pl.FP16], b: pl.Tensor[[16, 16], pl.FP16],
            out: pl.Out[pl.Tensor[[16, 16], pl.FP32]]):
        with pl.at(name_hint="abt"):
            out[:, :] = pl.matmul(a, b, b_trans=True, out_dtype=pl.FP32)

    rng = np.random.default_rng(0)
    a, b = (rng.integers(-3, 4, (16, 16)).astype(np.float16) for _ in range(2))
    c = compile_function(abt.compile(a, b, np.zeros((16, 16), np.float32)).function)
    (kernel,) = kernel_functions(c.program)
    parsed = read_kernel(emit_kernel(kernel, CURRENT), kernel)
    out = np.zeros((16, 16), np.float32)
    functions = [parsed if f is kernel else f for f in c.program.functions]
    run_program(Program(functions), [a, b, out])
    np.testing.assert_array_equal(out, a.astype(np.float32) @ b.astype(np.float32).T)  # small integers: exact
