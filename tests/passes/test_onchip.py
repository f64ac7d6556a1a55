"""On-chip buffer planning: peaks computed by hand, the cube spaces, overflow errors at the user's line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pto.language as pl
from pto.cli import load_cases
from pto.errors import PlValueError
from pto.frontend.source import display_path
from pto.ir.core import Value
from pto.ir.types import BF16, TensorType
from pto.passes import onchip
from pto.passes.pipeline import compile_function

from case_files import ROOT

TILE = 16 * 64 * 4  # one [16, 64] FP32 tile: 4096 bytes


def plans(kernel, *args) -> dict:
    return compile_function(kernel.compile(*args).function).facts["onchip"]


def f32(*shape):
    return np.zeros(shape, np.float32)


def bf16(*shape):
    return np.zeros(shape, pl.BF16.np)


def marked_line(marker: str) -> str:
    """file:line of the line of this file carrying `marker` (as errors print it)."""
    lines = Path(__file__).read_text().splitlines()
    (n,) = [i for i, text in enumerate(lines, 1) if text.rstrip().endswith("# " + marker)]
    return f"{display_path(__file__)}:{n}"


def test_vector_kernel_peak_by_hand():
    @pl.jit
    def k(x: pl.Tensor[[16, 64], pl.FP32], out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
        with pl.at(name_hint="vec"):
            e = pl.exp(x)                          # x loaded into UB + e: 2 tiles
            s = pl.row_sum(e)                      # e + s ([16, 1]: 64 bytes)
            out[:, :] = pl.row_expand_div(e, s)    # e + s + the result: 2 tiles + 64

    ub = plans(k, f32(16, 64), f32(16, 64))["vec"]["UB"]
    assert ub["peak"] == 2 * TILE + 64
    assert ub["capacity"] == 192 * 1024
    assert sorted(ub["sizes"].values()) == [64, TILE, TILE, TILE]
    assert all(off % 32 == 0 for off in ub["offsets"].values())


def test_two_tiles_live_at_once():
    @pl.jit
    def k(out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
        with pl.at(name_hint="two"):
            a = pl.full([16, 64], pl.FP32, 1.0)
            out[:, :] = pl.exp(a)                  # a and exp(a) live together

    p = plans(k, f32(16, 64))["two"]
    assert p["UB"]["peak"] == p["UB"]["extent"] == 2 * TILE
    assert all(p[s]["peak"] == 0 for s in ("L1", "L0A", "L0B", "L0C"))


def test_value_used_in_a_loop_lives_for_the_whole_loop():
    @pl.jit
    def k(out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
        with pl.at(name_hint="loop"):
            a = pl.full([16, 64], pl.FP32, 1.0)    # read inside the loop: live to its end
            acc = pl.full([16, 64], pl.FP32, 0.0)
            for _ in pl.range(4):
                acc = pl.add(acc, a)               # a + carried acc + the new acc
            out[:, :] = acc

    # Every point inside the loop holds a, the carried accumulator and one more tile.
    assert plans(k, f32(16, 64))["loop"]["UB"]["peak"] == 3 * TILE


def test_branches_and_first_fit_offsets():
    @pl.jit
    def k(x: pl.Tensor[[16, 64], pl.FP32], flag: pl.Tensor[[1, 1], pl.INT32],
          out: pl.Out[pl.Tensor[[16, 64], pl.FP32]]):
        with pl.at(name_hint="branch"):
            t = pl.exp(x)                          # %0; x is copied into UB for it
            if pl.read(flag, [0, 0]) > 0:
                t = pl.add(t, 1.0)                 # %5
            else:
                t = pl.mul(t, 2.0)                 # %7
            out[:, :] = t                          # %t, the branch's result

    ub = plans(k, f32(16, 64), np.ones((1, 1), np.int32), f32(16, 64))["branch"]["UB"]
    assert ub["peak"] == 2 * TILE
    # Labels are the names `print_program` gives; a freed buffer's bytes are reused at once.
    assert ub["offsets"] == {"%x->UB@%0": 0, "%0": TILE, "%5": 0, "%7": 0, "%t": 0}


def test_sizes_round_up_to_32_bytes():
    assert onchip.nbytes(Value(TensorType((1, 8), BF16))) == 32
    assert onchip.nbytes(Value(TensorType((3, 5), BF16))) == 32
    assert onchip.nbytes(Value(TensorType((16, 1), BF16))) == 32
    assert onchip.nbytes(Value(TensorType((17, 1), BF16))) == 64


def test_matmul_uses_the_cube_buffers():
    @pl.jit
    def k(a: pl.Tensor[[32, 128], pl.BF16], b: pl.Tensor[[128, 16], pl.BF16],
          c: pl.Out[pl.Tensor[[32, 16], pl.FP32]]):
        with pl.at(name_hint="mm"):
            acc = pl.matmul(a[:, 0:64], b[0:64, :], out_dtype=pl.FP32)
            acc = pl.matmul_acc(acc, a[:, 64:128], b[64:128, :])
            c[:, :] = acc

    p = plans(k, bf16(32, 128), bf16(128, 16), f32(32, 16))["mm"]
    lhs, rhs, out = 32 * 64 * 2, 64 * 16 * 2, 32 * 16 * 4   # 4096, 2048, 2048 bytes
    assert p["L0A"]["peak"] == lhs
    assert p["L0B"]["peak"] == rhs
    assert p["L1"]["peak"] == lhs + rhs                      # both operands staged per matmul
    assert p["L0C"]["peak"] == 2 * out                       # matmul_acc reads acc, writes a new tile
    assert sorted(p["L0C"]["sizes"].values()) == [out, out]
    assert p["UB"]["peak"] == 0                              # L0C goes straight to GM


def test_matmul_example_carries_its_accumulator_in_l0c():
    (case,) = load_cases(str(ROOT / "examples" / "matmul.py"), None)
    p = compile_function(case.kernel.compile(**case.make_inputs()).function).facts["onchip"]["matmul_2"]
    tile = 32 * 32 * 4                                       # one FP32 [32, 32] accumulator
    assert p["L0C"]["peak"] == 2 * tile                      # the carried acc + the next one
    assert p["L0A"]["peak"] == p["L0B"]["peak"] == 32 * 64 * 2


def test_ub_overflow_names_kernel_and_line():
    @pl.jit
    def k(out: pl.Out[pl.Tensor[[256, 256], pl.FP32]]):
        with pl.at(name_hint="too_big"):
            t = pl.full([256, 256], pl.FP32, 1.0)  # OVERFLOW-FULL
            out[:, :] = t

    with pytest.raises(PlValueError) as e:
        plans(k, f32(256, 256))
    msg = str(e.value)
    assert msg.startswith(marked_line("OVERFLOW-FULL") + ": ")
    assert "kernel 'too_big'" in msg and "UB" in msg and "pl.full" in msg
    assert "262144 bytes" in msg and "196608" in msg


def test_overflow_is_reported_where_the_live_tiles_stop_fitting():
    @pl.jit
    def k(out: pl.Out[pl.Tensor[[128, 128], pl.FP32]]):
        with pl.at(name_hint="four"):
            a = pl.full([128, 128], pl.FP32, 1.0)      # 64 KiB each: three fit UB exactly
            b = pl.exp(a)
            c = pl.add(a, b)
            m = pl.mul(a, b)                           # OVERFLOW-FOURTH
            out[:, :] = pl.add(c, m)

    with pytest.raises(PlValueError) as e:
        plans(k, f32(128, 128))
    msg = str(e.value)
    assert msg.startswith(marked_line("OVERFLOW-FOURTH") + ": ")
    assert "kernel 'four'" in msg and "pl.mul" in msg and "262144 bytes (262144 live at once)" in msg


def test_l0a_overflow():
    @pl.jit
    def k(a: pl.Tensor[[128, 256], pl.FP32], b: pl.Tensor[[256, 16], pl.FP32],
          c: pl.Out[pl.Tensor[[128, 16], pl.FP32]]):
        with pl.at(name_hint="wide"):
            c[:, :] = pl.matmul(a, b)              # OVERFLOW-L0A

    with pytest.raises(PlValueError) as e:
        plans(k, f32(128, 256), f32(256, 16), f32(128, 16))
    msg = str(e.value)
    assert msg.startswith(marked_line("OVERFLOW-L0A") + ": ")
    assert "kernel 'wide' overflows L0A" in msg and "131072" in msg and str(64 * 1024) in msg


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_fits(path):
    for case in load_cases(str(path), None):
        check_fits(case)


def check_fits(case):
    c = compile_function(case.kernel.compile(**case.make_inputs(), **case.consts).function)
    kernels = [f.name for f in c.program.functions if f.attrs.get("role") == "kernel"]
    assert sorted(c.facts["onchip"]) == sorted(kernels)
    for name, plan in c.facts["onchip"].items():
        assert any(p["peak"] > 0 for p in plan.values()), name
        for space, p in plan.items():
            assert p["peak"] <= p["extent"] <= p["capacity"] == onchip.CAPACITY[space]
