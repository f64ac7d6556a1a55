"""The kernel language: `import pto.language as pl`. Names follow DESIGN.md §2."""
from ..frontend.handles import Scalar as ScalarValue, Tensor as TensorValue  # noqa: F401
from ..frontend.jit import jit  # noqa: F401
from ..frontend.regions import Loop, Region_, Spmd, static_unroll
from ..ir.ops.control import At, Scope
from ..ir.types import (BF16, BOOL, FP8E4M3, FP8E5M2, FP16, FP32, INDEX, INT8, INT16, INT32,  # noqa: F401
                        INT64, UINT8, DType)
from ..frontend.annotations import InOut, Out, Scalar, Tensor  # noqa: F401
from .ops import *  # noqa: F401,F403
from .ops import abs, slice  # noqa: F401  (shadow the builtins on purpose, as the reference DSL does)
from .indexed import gather, scatter, topk  # noqa: F401


def range(*args, **kwargs):  # noqa: A001
    """Sequential loop over traced or static bounds: `for i in pl.range(start, stop, step)`."""
    return Loop("range", args)


def parallel(*args):
    """Loop whose iterations are independent (checked by the compiler, not trusted)."""
    return Loop("parallel", args)


def pipeline(*args, stage: int = 2):
    """Sequential loop the backend may software-pipeline `stage` deep."""
    return Loop("pipeline", args, stage=stage)


def unroll(*args):
    """Loop unrolled at trace time (the index is a Python int)."""
    return static_unroll(*args)


def static_range(*args):
    """Python-level unroll: the body is traced once per index, which is a Python int."""
    return static_unroll(*args)


def spmd(blocks: int, name_hint: str = ""):
    """One task over `blocks` blocks: `for b in pl.spmd(n)` or `with pl.spmd(n) as b`."""
    return Spmd(blocks, name_hint)


def at(name_hint: str = "", **_ignored):
    """`with pl.at(name_hint=...)`: the body becomes one kernel (one task)."""
    return Region_("at", At, name_hint=name_hint)


def scope():
    """`with pl.scope()`: tensors created inside are released when the scope closes."""
    return Region_("scope", Scope)
