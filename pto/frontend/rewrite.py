"""Rewrite a kernel's `if` statements so both arms can be traced.

    if cond:            def __pto_then_N(x, y): <then>; return (x, y)
        <then>    ==>   def __pto_else_N(x, y): <else>; return (x, y)
    else:               (x, y) = __pto_branch__(cond, __pto_then_N, __pto_else_N, ("x", "y"),
        <else>                                  (locals().get("x", UNDEF), locals().get("y", UNDEF)))

`x, y` are the names either arm assigns. The new AST is compiled directly (never unparsed), so every
statement keeps its original file and line. An `if` whose arms contain return/break/continue/yield
or global/nonlocal stays as it is (a traced condition there is reported as unsupported).

`return e` becomes `return __pto_return__(e)`, which resolves the returned handles while the return
statement is the line being traced: a value that cannot leave (made in a closed pl.scope, say) is
reported at that line, not at the caller's.
"""
from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
import textwrap
import types

from ..errors import PlTypeError
from . import builder as B
from .handles import Traced
from .source import user_loc
from .regions import UNDEF, branch
from .source import assigned_names

_ESCAPES = (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)


def _escapes(stmts: list[ast.stmt]) -> bool:
    """Whether control may leave these statements other than by falling through. Nested function
    definitions (such as the arms of an inner `if`, already rewritten) do not count, nor a
    break/continue directly in the body of a loop inside them."""
    todo: list[ast.AST] = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, _ESCAPES):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, (ast.For, ast.While)):
            children = [c for c in children if not isinstance(c, (ast.Break, ast.Continue))]
        todo.extend(children)
    return False


class _IfRewriter(ast.NodeTransformer):
    def __init__(self) -> None:
        self.count = 0

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        return node

    def visit_If(self, node: ast.If):
        self.generic_visit(node)
        if _escapes(node.body) or _escapes(node.orelse):
            return node
        self.count += 1
        names = [n for n in assigned_names(node.body + node.orelse) if not n.startswith("__pto_")]
        then_name, else_name = f"__pto_then_{self.count}", f"__pto_else_{self.count}"
        out = ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())
        args = ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in names], kwonlyargs=[],
                             kw_defaults=[], defaults=[])

        def arm(name: str, body: list[ast.stmt]) -> ast.FunctionDef:
            return ast.FunctionDef(name=name, args=args, body=(body or [ast.Pass()]) + [ast.Return(out)],
                                   decorator_list=[], returns=None)

        current = [ast.Call(ast.Attribute(ast.Call(ast.Name("locals", ast.Load()), [], []), "get", ast.Load()),
                            [ast.Constant(n), ast.Name("__pto_undef__", ast.Load())], []) for n in names]
        call = ast.Call(ast.Name("__pto_branch__", ast.Load()),
                        [node.test, ast.Name(then_name, ast.Load()), ast.Name(else_name, ast.Load()),
                         ast.Tuple([ast.Constant(n) for n in names], ast.Load()),
                         ast.Tuple(current, ast.Load())], [])
        if names:
            target = ast.Tuple([ast.Name(n, ast.Store()) for n in names], ast.Store())
            tail: ast.stmt = ast.Assign([target], call)
        else:
            tail = ast.Expr(call)
        new = [arm(then_name, node.body), arm(else_name, node.orelse), tail]
        for stmt in new:
            ast.copy_location(stmt, node)
            for child in ast.walk(stmt):
                if not hasattr(child, "lineno"):
                    ast.copy_location(child, node)
        return new


class _ReturnRewriter(ast.NodeTransformer):
    """Wraps the value of each `return` of the kernel itself (not of functions defined inside it)."""

    def visit_FunctionDef(self, node: ast.AST) -> ast.AST:
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_FunctionDef

    def visit_Return(self, node: ast.Return) -> ast.Return:
        if node.value is not None:
            node.value = ast.copy_location(ast.Call(ast.Name("__pto_return__", ast.Load()), [node.value], []), node)
        return node


def checked_return(value):
    """The kernel's return value, its handles resolved now (at the user's return line). A @pl.jit
    entry (not an inline helper, which may return anything) returns traced tensors or nothing."""
    if not B.is_tracing():
        return value
    entry = B.active().frame.kind == "func"
    for x in value if isinstance(value, tuple) else (value,):
        if isinstance(x, Traced):
            x.value  # noqa: B018 - raises at this line for a value of a closed region
        elif entry and x is not None:
            raise PlTypeError(f"the kernel returns a {type(x).__name__}; return traced tensors (or write "
                              f"pl.Out parameters)", user_loc())
    return value


def _needs_rewrite(fdef: ast.FunctionDef) -> bool:
    nodes = list(ast.walk(fdef))
    return any(isinstance(n, ast.If) for n in nodes) or any(isinstance(n, ast.Return) and n.value for n in nodes)


@functools.lru_cache(maxsize=512)
def _rewritten_code(fn_code: types.CodeType, source: str) -> types.CodeType | None:
    tree = ast.parse(textwrap.dedent(source))
    ast.increment_lineno(tree, fn_code.co_firstlineno - 1)
    fdef = tree.body[0]
    if not _needs_rewrite(fdef):
        return None
    fdef.decorator_list = []
    # Renamed so that a call of the function by its own name inside its body still reaches the
    # decorated object (an InlineFunction), which detects recursion.
    fdef.name = "__pto_fn"
    fdef.body = [_ReturnRewriter().visit(stmt) for stmt in fdef.body]
    fdef = _IfRewriter().visit(fdef)
    params = list(fn_code.co_freevars) + ["__pto_branch__", "__pto_undef__", "__pto_return__"]
    factory = ast.FunctionDef(
        name="__pto_factory",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], kwonlyargs=[],
                           kw_defaults=[], defaults=[]),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))], decorator_list=[], returns=None)
    module = ast.Module([factory], type_ignores=[])
    ast.copy_location(factory, fdef)
    ast.fix_missing_locations(module)
    return compile(module, fn_code.co_filename, "exec")


def source_of(fn_code: types.CodeType) -> str | None:
    """The source text of a function's code, found once per version of its file: an inline
    function is traced at every call, and `inspect.getsource` tokenizes the file each time. An
    edited file (a new modification time) is read again, as the jit cache's source hash expects."""
    try:
        mtime = os.stat(fn_code.co_filename).st_mtime_ns
    except OSError:
        mtime = None
    return _source(fn_code, mtime)


@functools.lru_cache(maxsize=1024)
def _source(fn_code: types.CodeType, mtime: int | None) -> str | None:
    linecache.checkcache(fn_code.co_filename)
    try:
        return inspect.getsource(fn_code)
    except (OSError, TypeError):
        return None


def traceable(fn: types.FunctionType) -> types.FunctionType:
    """`fn` with its `if` statements rewritten for tracing (fn itself when it has none)."""
    source = source_of(fn.__code__)
    if source is None:
        return fn
    code = _rewritten_code(fn.__code__, source)
    if code is None:
        return fn
    namespace: dict = {}
    exec(code, fn.__globals__, namespace)
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:
            cells.append(None)
    new = namespace["__pto_factory"](*cells, branch, UNDEF, checked_return)
    new.__defaults__ = fn.__defaults__
    new.__kwdefaults__ = fn.__kwdefaults__
    return new
