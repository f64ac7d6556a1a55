"""User-facing errors. Each names the user's file and line and says what to do.

Public entry points (calling a `@pl.jit` function, `compile`, the CLI) raise these with the
compiler's own frames removed from the traceback, so a user sees their line, not our internals.
"""
from __future__ import annotations

import linecache
import types

from .ir.types import Loc


class PtoError(Exception):
    """Base of every error a kernel author can cause."""

    kind = "error"

    def __init__(self, message: str, loc: Loc | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc

    def __str__(self) -> str:
        if self.loc is None or self.loc.line <= 0:
            return self.message
        source = linecache.getline(self.loc.file, self.loc.line).strip()
        text = f"{self.loc}: {self.kind}: {self.message}"
        return text + (f"\n    {source}" if source else "")


class PlTypeError(PtoError):
    """A shape or dtype rule failed, e.g. `pl.add` of [16, 64] and [16, 32] or of BF16 and FP32.

    Fix: make the shapes agree (slice, reshape, row_expand_*/col_expand_* to broadcast) or insert
    `pl.cast`.
    """

    kind = "type error"


class PlSyntaxError(PtoError):
    """Python that cannot be traced into a kernel, e.g. `while` on a traced value.

    Fix: use `pl.range`, or compute the condition from compile-time values.
    """

    kind = "unsupported"


class PlValueError(PtoError):
    """A value is used where it is not allowed: a write to an `In` parameter, a tensor used after
    the `pl.scope` or loop that created it, a static index out of bounds.
    """

    kind = "error"


def user_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback without frames from inside the pto package (user frames are kept)."""
    from .frontend.source import is_internal_file

    frames = []
    while tb is not None:
        if not is_internal_file(tb.tb_frame.f_code.co_filename):
            frames.append(tb)
        tb = tb.tb_next
    out = None
    for t in reversed(frames):
        out = types.TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out
