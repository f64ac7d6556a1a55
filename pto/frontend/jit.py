"""`@pl.jit` entries and `@pl.jit.inline` helpers: specialization, tracing, the compile cache.

A call specializes the entry on its arguments (tensor shapes and dtypes, the values of plain Python
numbers), traces it into an IR function, and caches the result. The cache entry remembers the
source of every function the trace reached (the entry and each inline helper), so editing any of
them forces a new trace; a second call with the same key does no tracing at all.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from ..errors import PtoError, PlSyntaxError, PlTypeError, user_traceback
from ..ir.core import Function, Param, Region, Value
from ..ir.ops.control import InlineCall, Return
from ..ir.types import Loc, ScalarType, TensorType, dtype_of_numpy
from ..ir.cleanup import eliminate_dead_code, share_views
from ..ir.gcpause import collector_paused
from ..ir.verifier import verify_function
from .annotations import ScalarSpec, TensorSpec, spec_of
from . import builder as B
from .handles import Scalar, Tensor, Traced
from .rewrite import traceable
from .source import display_path, user_loc


def _source_hash(fn: Callable) -> str:
    """The function's current source text (read afresh: an edited file must miss the cache)."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = repr(fn.__code__.co_code)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ArgSpec:
    """How one argument specializes the trace: a tensor, a runtime scalar, or a constant."""

    name: str
    kind: str  # "tensor", "scalar", "const"
    type: Any = None  # TensorType / ScalarType
    direction: str = "in"
    value: Any = None
    keyword: bool = False  # passed through the entry's **kwargs


def _bind(fn: Callable, args: tuple, kwargs: dict) -> list[tuple[str, Any, Any, bool]]:
    """(name, value, annotation, passed by keyword) per argument, in signature order. A keyword-only
    parameter is passed by keyword; a `**kwargs` parameter (a layer's many weights, say) contributes
    one argument per key, unannotated, in the order the caller passed them."""
    sig = inspect.signature(fn)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise PlTypeError(f"{fn.__name__}(): {e}", user_loc()) from None
    bound.apply_defaults()
    out = []
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out += [(key, v, None, True) for key, v in value.items()]
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            raise PlTypeError(f"{fn.__name__}(*{name}): a @pl.jit entry cannot take *args; name each "
                              f"parameter or take **{name}", _function_loc(fn))
        else:
            keyword_only = param.kind is inspect.Parameter.KEYWORD_ONLY
            out.append((name, value, _annotation(fn, param.annotation), keyword_only))
    return out


def _annotation(fn: Callable, annotation: Any) -> Any:
    """Evaluate a string annotation (`from __future__ import annotations`) where fn was defined."""
    if not isinstance(annotation, str):
        return annotation
    scope = dict(fn.__globals__)
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            scope[name] = cell.cell_contents
        except ValueError:
            pass
    try:
        return eval(annotation, scope)  # noqa: S307 - the user's own annotation text
    except Exception as e:
        raise PlTypeError(f"cannot evaluate the annotation {annotation!r} of {fn.__name__}: {e}",
                          _function_loc(fn)) from None


def _arg_spec(name: str, value: Any, annotation: Any, keyword: bool = False) -> ArgSpec:
    spec = _positional_spec(name, value, annotation)
    return replace(spec, keyword=True) if keyword else spec


def _positional_spec(name: str, value: Any, annotation: Any) -> ArgSpec:
    spec = spec_of(annotation)
    if isinstance(value, np.ndarray):
        dtype = dtype_of_numpy(value.dtype)
        if dtype is None:
            raise PlTypeError(f"argument '{name}': numpy dtype {value.dtype} has no pl dtype", user_loc())
        spec = spec if isinstance(spec, TensorSpec) else TensorSpec()
        if spec.shape is not None and tuple(value.shape) != spec.shape:
            raise PlTypeError(f"argument '{name}' has shape {list(value.shape)}, the annotation says "
                              f"{list(spec.shape)}", user_loc())
        if spec.dtype is not None and spec.dtype != dtype:
            raise PlTypeError(f"argument '{name}' is {dtype.name}, the annotation says {spec.dtype.name}",
                              user_loc())
        if spec.direction != "in" and not value.flags.c_contiguous:
            raise PlTypeError(f"output argument '{name}' must be C-contiguous (it is written in place)",
                              user_loc())
        return ArgSpec(name, "tensor", TensorType(tuple(value.shape), dtype), spec.direction)
    if value is None:  # an optional tensor left out (`cmp_kv: pl.InOut = None`): the trace sees None
        return ArgSpec(name, "const", value=None)
    if isinstance(spec, TensorSpec):
        raise PlTypeError(f"argument '{name}' is annotated as a tensor but got {type(value).__name__}; "
                          f"pass a numpy array", user_loc())
    if isinstance(spec, ScalarSpec):
        return ArgSpec(name, "scalar", ScalarType(spec.dtype))
    try:
        hash(value)
    except TypeError:
        raise PlTypeError(f"argument '{name}' ({type(value).__name__}) is neither an array nor a hashable "
                          f"compile-time constant", user_loc()) from None
    return ArgSpec(name, "const", value=value)


def _function_loc(fn: Callable) -> Loc:
    return Loc(display_path(fn.__code__.co_filename), fn.__code__.co_firstlineno)


class InlineFunction:
    """`@pl.jit.inline`: expanded at each call site into a named `pl.inline_call` region."""

    def __init__(self, fn: Callable, auto_scope: bool = True):
        self.fn, self.auto_scope = fn, auto_scope
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not B.is_tracing():
            raise PlSyntaxError(f"the inline helper {self.__name__}() can only be called while tracing a "
                                f"@pl.jit function", user_loc())
        b = B.active()
        b.reached[self.fn] = None
        if self.fn in b.inline_stack:
            raise PlSyntaxError(f"{self.__name__}() calls itself; inline helpers are expanded at trace "
                                f"time and cannot recurse", user_loc())
        op = InlineCall(loc=user_loc(), callee=self.__name__)
        frame = b.push("inline", op, op.regions[0])
        b.inline_stack.append(self.fn)
        try:
            result = traceable(self.fn)(*args, **kwargs)
        finally:
            b.inline_stack.pop()
        b.close_transparent(frame)
        return result


class JitFunction:
    """`@pl.jit`: a kernel entry. Call it with numpy arrays to compile (cached) and run it."""

    def __init__(self, fn: Callable, auto_scope: bool = True):
        self.fn, self.auto_scope = fn, auto_scope
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self._cache: dict[tuple, tuple["Compiled", dict]] = {}
        self.trace_count = 0

    def __call__(self, *args: Any, platform: str | None = None, **kwargs: Any) -> Any:
        if B.is_tracing():  # an entry called from another entry is expanded like an inline helper
            return InlineFunction(self.fn, self.auto_scope)(*args, **kwargs)
        try:
            compiled = self.compile(*args, **kwargs)
            return compiled.run(*args, platform=platform, **kwargs)
        except PtoError as e:
            raise e.with_traceback(user_traceback(e.__traceback__)) from None

    def compile(self, *args: Any, **kwargs: Any) -> "Compiled":
        """Trace (or fetch from the cache) the program specialized for these arguments."""
        try:
            specs = tuple(_arg_spec(*a) for a in _bind(self.fn, args, kwargs))
            hit = self._cache.get(specs)
            if hit is not None and all(_source_hash(f) == h for f, h in hit[1].items()):
                return hit[0]
            with collector_paused():
                compiled, reached = self._trace(specs)
            self._cache[specs] = (compiled, {f: _source_hash(f) for f in reached})
            return compiled
        except PtoError as e:
            raise e.with_traceback(user_traceback(e.__traceback__)) from None

    def _trace(self, specs: tuple[ArgSpec, ...]) -> tuple["Compiled", dict]:
        self.trace_count += 1
        b = B.Builder()
        b.reached[self.fn] = None
        loc = _function_loc(self.fn)
        with B.tracing(b):
            body = Region()
            frame = b.push("func", None, body, loc)
            params, call_args, call_kwargs = [], [], {}
            for spec in specs:
                if spec.kind == "const":
                    arg = spec.value
                else:
                    v = Value(spec.type, spec.name)
                    params.append(Param(v, spec.direction))
                    kind = spec.direction if spec.kind == "tensor" else "scalar"
                    arg = (Tensor if spec.kind == "tensor" else Scalar)(B.Storage(v, frame, kind, loc, spec.name))
                if spec.keyword:
                    call_kwargs[spec.name] = arg
                else:
                    call_args.append(arg)
            result = traceable(self.fn)(*call_args, **call_kwargs)
            outs = () if result is None else result if isinstance(result, tuple) else (result,)
            for o in outs:
                if not isinstance(o, Traced):
                    raise PlTypeError(f"{self.__name__} returns a {type(o).__name__}; return traced tensors "
                                      f"(or write pl.Out parameters)", loc)
            values = tuple(o.value for o in outs)
            body.ops.append(Return(loc=loc, values=values))
            b.pop(frame)
        func = Function(self.__name__, params, body, [v.type for v in values],
                        {"auto_scope": self.auto_scope})
        share_views(func)
        eliminate_dead_code(func)
        verify_function(func)
        return Compiled(self.fn, func, specs, len(outs) if isinstance(result, tuple) else None), b.reached


class Compiled:
    """A traced program specialized for one argument signature."""

    def __init__(self, fn: Callable, function: Function, specs: tuple[ArgSpec, ...], tuple_arity: int | None):
        self.fn = fn
        self.function = function
        self.specs = specs
        self.tuple_arity = tuple_arity

    def runtime_args(self, args: tuple, kwargs: dict) -> list[Any]:
        bound = _bind(self.fn, args, kwargs)
        return [v for spec, (_, v, _, _) in zip(self.specs, bound) if spec.kind != "const"]

    def run(self, *args: Any, platform: str | None = None, **kwargs: Any) -> Any:
        from ..sim import run_compiled
        from ..sim import DEFAULT_PLATFORM
        outs = run_compiled(self, self.runtime_args(args, kwargs), platform or DEFAULT_PLATFORM)
        if self.tuple_arity is not None:
            return tuple(outs)
        return outs[0] if outs else None


class _Jit:
    """The `pl.jit` decorator: `@pl.jit`, `@pl.jit(auto_scope=False)`, `@pl.jit.inline`."""

    def __call__(self, fn: Callable | None = None, *, auto_scope: bool = True):
        if fn is None:
            return lambda f: JitFunction(f, auto_scope)
        return JitFunction(fn, auto_scope)

    def inline(self, fn: Callable | None = None, *, auto_scope: bool = True):
        if fn is None:
            return lambda f: InlineFunction(f, auto_scope)
        return InlineFunction(fn, auto_scope)


jit = _Jit()
