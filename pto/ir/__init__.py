"""The pto IR: SSA values with explicit buffer versions, region ops, a printer, a parser, a verifier."""
from . import ops  # noqa: F401  (registers the ops)
from .core import Function, Op, Param, Program, Region, Value  # noqa: F401
from .types import Loc, ScalarType, TensorType  # noqa: F401
