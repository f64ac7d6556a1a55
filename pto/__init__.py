"""pto: a Python DSL, compiler and simulator for tile kernels on Ascend a2a3 NPUs."""
from .errors import PlSyntaxError, PlTypeError, PlValueError, PtoError  # noqa: F401

__version__ = "0.1.0"
