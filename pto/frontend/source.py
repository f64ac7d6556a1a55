"""Source locations and source text of user code.

`user_loc()` is the file:line of the innermost frame outside the pto package: the DSL line that is
being traced. Loop tracing also needs to know which names a loop body assigns; `loop_assigned_names`
answers that from the parsed source file.
"""
from __future__ import annotations

import ast
import ctypes
import functools
import linecache
import os
import re
import sys
import types

from ..ir.types import UNKNOWN_LOC, Loc

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=4096)
def is_internal_file(filename: str) -> bool:
    """A file of the pto package. Cached per name: the tracer asks for every frame of every traced
    op (a relative name is resolved against the working directory of its first sighting)."""
    return os.path.abspath(filename).startswith(_PKG_DIR + os.sep)


def display_path(filename: str) -> str:
    """A path relative to the working directory when the file lies below it."""
    return _relative_to(filename, os.getcwd())


@functools.lru_cache(maxsize=4096)
def _relative_to(filename: str, cwd: str) -> str:
    try:
        rel = os.path.relpath(filename, cwd)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def user_frame() -> types.FrameType | None:
    f = sys._getframe(1)
    while f is not None and is_internal_file(f.f_code.co_filename):
        f = f.f_back
    return f


def user_loc() -> Loc:
    f = user_frame()
    if f is None:
        return UNKNOWN_LOC
    return Loc(display_path(f.f_code.co_filename), f.f_lineno)


@functools.lru_cache(maxsize=256)
def _file_tree(filename: str, mtime: float) -> ast.Module | None:
    try:
        with open(filename, encoding="utf-8") as fh:
            return ast.parse(fh.read(), filename)
    except (OSError, SyntaxError):
        return None


def assigned_names(nodes: list[ast.stmt]) -> list[str]:
    """Names bound by statements in `nodes` (assignments, for targets, with-as), in first-seen order."""
    names: dict[str, None] = {}
    for stmt in nodes:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names[node.id] = None
    return list(names)


@functools.lru_cache(maxsize=1024)
def _loops_of_file(filename: str, mtime: float) -> dict[int, list[str]]:
    tree = _file_tree(filename, mtime)
    if tree is None:
        return {}
    return {n.lineno: assigned_names(n.body) for n in ast.walk(tree) if isinstance(n, ast.For)}


def loop_assigned_names(frame: types.FrameType) -> list[str] | None:
    """Names the body of the `for` statement now executing in `frame` assigns; None if unknown."""
    filename = frame.f_code.co_filename
    try:
        mtime = os.path.getmtime(filename)
    except OSError:
        return None
    return _loops_of_file(filename, mtime).get(frame.f_lineno)


_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=[^=]")


def assigned_name(loc: Loc) -> str | None:
    """`x` when the user's line reads `x = ...` (used to name buffers in IR dumps)."""
    m = _ASSIGN.match(linecache.getline(loc.file, loc.line))
    return m.group(1) if m else None


def set_local(frame: types.FrameType, name: str, value: object) -> None:
    """Bind `name` to `value` in the running function `frame` (as if it executed `name = value`).

    Loop tracing needs it when a carried name holds a handle that other names share: the name must
    get its own handle. Python 3.13+ writes through `f_locals`; before that the dict is a snapshot
    copied back into the frame's variables by PyFrame_LocalsToFast (what debuggers use).
    """
    frame.f_locals[name] = value
    if sys.version_info < (3, 13):
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
