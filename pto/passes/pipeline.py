"""The compiler pipeline: an ordered list of passes over one `Compilation`.

Each pass is a module with a NAME, a docstring saying what it requires and produces, and
`run(c: Compilation) -> Compilation`. The verifier runs after every pass when `verify` is on (always
in tests), and `dump_dir` receives the IR after tracing and after each pass as NN_<pass>.pir.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..ir.core import Function, Program
from ..ir.clone import clone_function
from ..ir.gcpause import collector_paused
from ..ir.printer import print_program
from ..ir.verifier import verify_program
from . import access, deps, memplan, onchip, outline, split_mixed

PASSES = (outline, split_mixed, access, deps, memplan, onchip)


@dataclass
class CompileOptions:
    dump_dir: Path | None = None
    verify: bool = True


@dataclass
class Compilation:
    """The program being compiled and what the passes learned about it."""

    program: Program
    facts: dict[str, Any] = field(default_factory=dict)


def copy_function(f: Function) -> Function:
    """A deep copy (the traced IR stays untouched by the passes)."""
    return clone_function(f)


def compile_function(f: Function, options: CompileOptions | None = None) -> Compilation:
    options = options or CompileOptions()
    with collector_paused():
        c = Compilation(Program([copy_function(f)]))
        _dump(c, options, 0, "trace")
        for i, p in enumerate(PASSES, 1):
            c = p.run(c)
            if options.verify:
                verify_program(c.program)
            _dump(c, options, i, p.NAME)
    return c


def _dump(c: Compilation, options: CompileOptions, index: int, name: str) -> None:
    if options.dump_dir is None:
        return
    options.dump_dir.mkdir(parents=True, exist_ok=True)
    (options.dump_dir / f"{index:02d}_{name}.pir").write_text(print_program(c.program))
