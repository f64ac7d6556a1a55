"""Building and rewriting IR without the cycle collector's full passes.

IR is a graph of many small objects with cycles (an op holds its result values, each value its
owner op), all alive until the compile ends. CPython's generational collector scans every live
object at each full collection, and full collections come more often the more objects are made:
a compile that makes k times the objects spends about k^2 times as long in the collector (the
stacked-decode-layer benchmark showed per-layer compile time growing by 1.4x from 1 to 8 layers,
and flat without it). So tracing and the pass pipeline run with the collector paused; what they
leave behind is collected as usual once it resumes.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Pause automatic garbage collection for the block (nested uses are fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
