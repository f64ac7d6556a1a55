"""User-facing errors: class, `file:line:` of the offending kernel statement, and a clean traceback.

Every bad input lives in its own file under tests/bad_inputs/ and marks the line the error must
name with a `# ERROR-LINE` comment; each file defines `kernel` (a `@pl.jit` entry) and `args()`
(the numpy arguments to call it with). `cli_case.py` is a case file for `pto run`.

Where the mistake is found (`Bad.stage`):
  trace   while tracing: `kernel(...)`, `kernel.compile(...)` and a run on a2a3sim all raise it
  passes  by the compiler's passes (dependencies, on-chip memory): a run on a2a3sim raises it
  run     only when the program runs (data-dependent indices): the reference interpreter and
          a2a3sim raise it
  lint    a legal program with a lint warning at the line (pto.lints)
"""
from __future__ import annotations

import importlib.util
import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import pto
from pto.errors import PlSyntaxError, PlTypeError, PlValueError, PtoError
from pto.lints import lint

ROOT = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "bad_inputs"
PTO_DIR = os.path.dirname(os.path.abspath(pto.__file__))
MARKER = "# ERROR-LINE"
LOCATION = re.compile(r"^(?P<path>[^\n]+?):(?P<line>\d+):")

_load_counter = itertools.count()


def load(name: str):
    """Import tests/bad_inputs/<name>.py afresh (a new JitFunction, so nothing is cached)."""
    path = BAD / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bad_inputs_{name}_{next(_load_counter)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_line(path: Path) -> int:
    """The 1-based number of the line carrying the `# ERROR-LINE` marker (exactly one per file)."""
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if MARKER in text]
    assert len(lines) == 1, f"{path} must mark exactly one line with {MARKER!r}, found {lines}"
    return lines[0]


def pto_frames(tb) -> list[str]:
    """`file:line` of each traceback frame whose code lies inside the pto package."""
    out = []
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if filename.startswith(PTO_DIR + os.sep):
            out.append(f"{filename}:{tb.tb_lineno}")
        tb = tb.tb_next
    return out


def assert_names_location(text: str, path: Path, cwd: Path | None = None) -> None:
    """`text` starts with `<path>:<line>:` for `path` (relative or absolute) and its marked line."""
    m = LOCATION.match(text)
    assert m, f"the message does not start with file:line: {text!r}"
    named = Path(m.group("path"))
    if not named.is_absolute():
        named = (cwd or Path.cwd()) / named
    assert named.exists() and os.path.samefile(named, path), \
        f"the message names {m.group('path')!r}, expected the kernel file {path}: {text!r}"
    assert int(m.group("line")) == error_line(path), \
        f"the message names line {m.group('line')}, expected {error_line(path)} ({MARKER}): {text!r}"


@dataclass(frozen=True)
class Bad:
    file: str
    error: type
    contains: tuple[str, ...] = ()
    xfail: str | None = None  # reason, while pto does not report this case as specified
    stage: str = "trace"  # trace | passes | run | lint (see the module docstring)


BAD_CASES = [
    Bad("shape_mismatch_add", PlTypeError, ("[16, 64]", "[16, 32]")),
    Bad("matmul_inner_mismatch", PlTypeError, ("inner",)),
    Bad("dtype_mismatch_add", PlTypeError, ("pl.cast",)),
    Bad("static_slice_oob", PlTypeError, ("out of bounds",)),
    Bad("while_on_traced", PlSyntaxError, ("while",)),
    Bad("write_to_input", PlValueError, ("pl.Out",)),
    Bad("use_after_scope", PlValueError, ("pl.scope",)),
    Bad("use_after_loop", PlValueError, ("loop",)),
    Bad("stale_view_after_loop", PlValueError, ("made inside the loop", "offsets")),
    Bad("where_two_numbers", PlTypeError, ("pl.where",)),
    Bad("one_branch_name", PlValueError, ("only one branch",)),
    Bad("one_branch_name_assign", PlValueError, ("only one branch",)),
    Bad("one_branch_name_unary", PlValueError, ("only one branch",)),
    Bad("recursive_inline", PlSyntaxError, ("calls itself",)),
    Bad("recursive_inline_if", PlSyntaxError, ("calls itself",)),
    Bad("python_int_made_traced", PlSyntaxError, ("'acc'", "Python number")),
    Bad("parallel_carried", PlValueError, ("pl.parallel", "acc")),
    Bad("reshape_count", PlTypeError, ("element count",)),
    Bad("assign_shape_mismatch", PlTypeError, ("[8, 64]", "[16, 64]")),
    Bad("dynamic_oob", PlValueError, ("out of bounds",), stage="run"),
    Bad("nested_at", PlSyntaxError, ("kernels do not nest", "pl.at at")),
    Bad("returns_python_number", PlTypeError, ("returns a float",)),
    Bad("return_scope_tile", PlValueError, ("pl.scope",)),
    # non-literal tile shapes
    Bad("full_traced_shape", PlTypeError, ("compile-time ints",)),
    Bad("create_tensor_traced_shape", PlTypeError, ("compile-time ints",)),
    Bad("slice_traced_width", PlTypeError, ("compile-time constant",)),
    Bad("spmd_traced_blocks", PlTypeError, ("compile-time int",)),
    # shapes, dtypes and arguments of ops
    Bad("row_expand_bad_vector", PlTypeError, ("[16, 1]", "[16, 2]")),
    Bad("matmul_acc_bad_acc", PlTypeError, ("accumulator", "[16, 32]")),
    Bad("loop_changes_type", PlTypeError, ("'acc'", "changes type")),
    Bad("cast_bad_mode", PlTypeError, ("'nearest'",)),
    Bad("gather_float_index", PlTypeError, ("integer",)),
    Bad("topk_too_many", PlTypeError, ("k=16",)),
    Bad("read_wrong_rank", PlTypeError, ("rank",)),
    Bad("negative_index", PlValueError, ("negative index",)),
    Bad("range_zero_step", PlValueError, ("step must be positive",)),
    # writes to inputs
    Bad("write_scalar_to_input", PlValueError, ("'table'", "pl.Out")),
    Bad("assemble_to_input", PlValueError, ("'x'", "pl.Out")),
    Bad("scatter_into_input", PlValueError, ("'x'", "pl.Out")),
    # Python that cannot be traced
    Bad("iterate_tensor", PlSyntaxError, ("iterated",)),
    Bad("python_range_traced", PlSyntaxError, ("pl.range",)),
    Bad("and_on_traced", PlSyntaxError, ("Python bool",)),
    Bad("inline_outside_jit", PlSyntaxError, ("helper()", "while tracing")),
    # found by the passes: conflicting iterations or blocks, on-chip overflow
    Bad("parallel_overlap", PlValueError, ("pl.parallel", "'out'"), stage="passes"),
    Bad("parallel_scalar_write", PlValueError, ("pl.parallel", "'count'"), stage="passes"),
    Bad("spmd_same_rows", PlValueError, ("pl.spmd", "'out'"), stage="passes"),
    Bad("onchip_overflow", PlValueError, ("UB", "196608"), stage="passes"),
    # found when the program runs
    Bad("scatter_index_out_of_range", PlValueError, ("out of range",), stage="run"),
    # legal, but warned about
    Bad("output_never_written", "output-never-written", ("'unused'",), stage="lint"),
]

ENTRIES = {"trace": ("call", "compile", "a2a3sim"), "passes": ("a2a3sim",), "run": ("call", "a2a3sim")}


def _params():
    out = []
    for case in BAD_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        for entry in ENTRIES.get(case.stage, ()):
            out.append(pytest.param(case, entry, marks=marks, id=f"{case.file}-{entry}"))
    return out


def _call(module, entry: str):
    if entry == "call":
        return module.kernel(*module.args())
    if entry == "compile":
        return module.kernel.compile(*module.args())
    return module.kernel(*module.args(), platform="a2a3sim")


@pytest.mark.parametrize("case, entry", _params())
def test_bad_kernel_reports_its_line(case: Bad, entry: str):
    path = BAD / f"{case.file}.py"
    module = load(case.file)
    with pytest.raises(Exception) as info:
        _call(module, entry)
    exc = info.value

    assert isinstance(exc, PtoError), f"expected a PtoError, got {type(exc).__name__}: {exc}"
    assert isinstance(exc, case.error), f"expected {case.error.__name__}, got {type(exc).__name__}: {exc}"
    text = str(exc)
    assert_names_location(text, path)
    for fragment in case.contains:
        assert fragment in text, f"{fragment!r} not in the message {text!r}"
    internal = pto_frames(exc.__traceback__)
    assert len(internal) <= 1, f"the traceback shows pto internals: {internal}"


LINTS = [case for case in BAD_CASES if case.stage == "lint"]


@pytest.mark.parametrize("case", LINTS, ids=[c.file for c in LINTS])
def test_lint_warns_at_its_line(case: Bad):
    path = BAD / f"{case.file}.py"
    module = load(case.file)
    warnings = lint(module.kernel.compile(*module.args()).function)
    hits = [w for w in warnings if w.code == case.error]
    assert hits, f"no {case.error} warning: {warnings}"
    assert_names_location(str(hits[0]), path)
    for fragment in case.contains:
        assert fragment in str(hits[0]), f"{fragment!r} not in {hits[0]}"


def test_the_corpus_is_complete():
    files = {p.stem for p in BAD.glob("*.py")} - {"cli_case"}
    assert files == {c.file for c in BAD_CASES}, "every file in tests/bad_inputs/ has its entry, and no more"
    assert len(files) >= 40


def test_cli_reports_bad_kernel_without_traceback():
    path = BAD / "cli_case.py"
    proc = subprocess.run([sys.executable, "-m", "pto.cli", "run", str(path.relative_to(ROOT))],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, f"exit code {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert_names_location(proc.stderr, path, cwd=ROOT)
    assert "[16, 64]" in proc.stderr and "[16, 32]" in proc.stderr, proc.stderr
