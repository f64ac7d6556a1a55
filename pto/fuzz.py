"""A seeded differential fuzzer: random valid `@pl.jit` programs, run before and after the pass pipeline.

Program `seed` (`generate(seed)`) is the source of a `kernel` entry plus fixed `@pl.jit.inline` helpers over FP32
add/sub/mul/maximum/exp (values kept in [-64, 64]), row/col reductions and expands, static, loop-, block- and
data-dependent slices, whole-buffer reshapes, subscript assignment and `pl.assemble` into Out/InOut params and
scratch, `pl.read`/`pl.write` of INT32 tables, `pl.range` (carried tiles, traced trip counts), `pl.parallel`, `pl.at`,
`pl.spmd`, `pl.scope` (also under auto_scope=False) and `if` on traced INT32 scalars; no buffer is read unwritten.
`check(seed)` runs it on the reference interpreter and through the pass pipeline, compares all outputs bitwise and
round-trips the traced IR. The generator makes only valid programs: any exception (even a PtoError) is a failure.

    python -m pto.fuzz --programs 2000 --seed 0 --jobs 2     # the long profile; failures print their source
"""
from __future__ import annotations

import argparse, functools, importlib.util, itertools, linecache, multiprocessing, os, pathlib  # noqa: E401
import random, sys, tempfile, time, traceback  # noqa: E401
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace

import numpy as np

from .ir import parser, printer
from .passes.pipeline import compile_function
from .sim.interpreter import run_program

CAP, T = 64.0, 8  # bound of every stored value; rows of the INT32 tables (their values are in [0, 8))
# open pto bugs it found (tests/regressions/test_fuzz_<name>.py), generated only with --known-bugs; drop when fixed
KNOWN_BUGS: tuple[str, ...] = ()
HELPERS = '''
@pl.jit.inline
def h_mix(a, b): return pl.maximum(pl.sub(a, b), pl.mul(a, 0.5))
@pl.jit.inline
def h_norm(t): return pl.row_expand_sub(t, pl.row_max(t))
@pl.jit.inline
def h_store(dst, src, r, c): pl.assemble(dst, h_mix(src, src), [r, c])  # writes through a parameter, returns nothing
@pl.jit.inline
def h_rows(dst, src, r, c):
    for k in pl.range(src.shape[0]):
        dst[r + k : r + k + 1, c : c + src.shape[1]] = pl.exp(pl.minimum(src[k : k + 1, :], 2.0))
@pl.jit.inline
def h_put(table, i, v): pl.write(table, [i, 0], v)
'''

@dataclass
class Buf:  # a parameter or create_tensor buffer, or a reshape view of `base`; readable once `ready`
    name: str
    shape: tuple
    dtype: str = "FP32"
    writable: bool = True
    base: str = ""
    ready: bool = True

@dataclass
class Tile:  # a name holding a tile; `view`: the buffer when it is a bare view of memory
    name: str
    shape: tuple
    bound: float
    view: str | None = None
    mutable: bool = False  # may be reassigned (loop-carried, merged by an if); its bound is CAP

@dataclass
class Ctx:
    idx: list = field(default_factory=list)  # (name, lowest, highest) of enclosing loop / block indices
    kernel: bool = False       # inside pl.at / pl.spmd
    par: tuple | None = None   # (index, axis, {buffer: block}): each iteration owns one block of these
    arm: bool = False          # inside an arm of a traced if
    loop: str | None = None    # "carry": the loop reassigns outer names; "nest": it may nest loops
    mut_from: int = 0          # tiles below this index are not reassigned here

def pow2(n: int) -> list[int]:
    return [1 << k for k in range(12) if 1 << k <= n]

def clamp(code: str, bound: float) -> tuple[str, float]:
    return (f"pl.maximum(pl.minimum({code}, {CAP}), {-CAP})", CAP) if bound > CAP else (code, bound)

class Gen:  # one random program; `avoid` names the KNOWN_BUGS whose triggers it does not generate
    def __init__(self, seed: int, avoid=KNOWN_BUGS):
        r, self.avoid, self.ids = random.Random(seed), avoid, itertools.count(1)
        self.r, self.R, self.C = r, r.choice([4, 8, 16, 32]), r.choice([8, 16, 32, 64])
        self.lines, self.ind, self.ctx, self.kw = [], 1, Ctx(), set()  # kw: buffers the open kernel wrote
        self.tiles, self.ints, sq, tv = [], ["n0"] if r.random() < 0.4 else [], (self.R, self.C), (T, 1)
        self.bufs = [Buf(f"x{k}", sq, "FP32", False) for k in range(r.randint(1, 2))] + [Buf("tab", tv, "INT32", False)]
        self.bufs += [Buf(f"out{k}", sq, ready=False) for k in range(r.randint(1, 2))]
        self.bufs += [Buf("io0", sq)] * (r.random() < 0.5) + [Buf("itab", tv, "INT32")] * (r.random() < 0.5)
        self.params, self.auto = list(self.bufs), r.random() < 0.7
    def emit(self, s: str) -> None:
        self.lines.append("    " * self.ind + s)
    @contextmanager
    def block(self, header: str, keep: bool = False, **ctx):  # names made in it die with it (not a pl.at's tiles)
        self.emit(header)
        start, saved, kw = len(self.lines), (len(self.tiles), len(self.bufs), len(self.ints), self.ctx), self.kw
        self.kw = set() if ctx.get("kernel") and not self.ctx.kernel else kw
        self.ind, self.ctx = self.ind + 1, replace(self.ctx, **ctx)
        yield
        self.lines += ["    " * self.ind + "pass"] * (len(self.lines) == start)
        self.ind, self.ctx, self.kw = self.ind - 1, saved[3], kw
        self.tiles[saved[0]:] = [t for t in self.tiles[saved[0]:] if keep and t.view is None]
        del self.ints[saved[2]:], self.bufs[len(self.bufs) if keep else saved[1]:]  # scalars stay in kernels
    def ok(self, what: str) -> bool:  # may a loop / a kernel's scalar be made here without a known bug's trigger?
        return not ("loop_then_nest" in self.avoid and self.ctx.loop == "carry" if what == "loop" else
                    "region_in_if" in self.avoid and self.ctx.arm and self.ctx.kernel)
    def readable(self, b: Buf, shape: tuple) -> bool:
        base, par = b.base or b.name, self.ctx.par
        return b.ready and not ("kernel_view" in self.avoid and base in self.kw) and all(s <= d for s, d in zip(
            shape, b.shape)) and (not (par and base in par[2]) or (not b.base and shape[par[1]] <= par[2][base]))
    def off(self, b: Buf, axis: int, t: int) -> tuple:  # (traced part, constant) of an in-bounds offset
        D, r, par = b.shape[axis], self.r, self.ctx.par
        if par and par[1] == axis and (b.base or b.name) in par[2]:  # this iteration's own block
            w = par[2][b.name]
            return (f"{par[0]} * {w}" if w > 1 else par[0]), r.randint(0, w - t)
        kind = r.choice(["static"] + ["loop"] * bool(self.ctx.idx) + ["data"] * bool(self.ints)) if D > t else ""
        if kind == "loop":
            v, lo, hi = r.choice(self.ctx.idx)
            if opts := [a for a in sorted({1, 2, t}) if a * (hi - lo) <= D - t]:
                a = r.choice(opts)
                return (f"{v} * {a}" if a > 1 else v), r.randint(-a * lo, D - t - a * hi)
        if kind == "data" and self.ok("scalar") and (D - t) // (a := r.choice([1, t])) >= 1:
            o = f"o{next(self.ids)}"  # bound once, so that `t[o : o + 4]` has a static size
            self.emit(f"{o} = {r.choice(self.ints)} % {(D - t) // a + 1}" + (f" * {a}" if a > 1 else ""))
            return o, 0
        return None, r.choice([r.randint(0, D - t), (r.randint(0, D - t) // t) * t])
    def box(self, b: Buf, shape: tuple) -> tuple[list, str]:  # offsets of a box, and its subscript
        def at(o, k):
            c = o[1] + k
            return str(c) if o[0] is None else o[0] + (f" + {c}" if c > 0 else f" - {-c}" if c < 0 else "")
        offs = [self.off(b, a, t) for a, t in enumerate(shape)]
        key = [":" if t == d and o == (None, 0) else f"{at(o, 0)} : {at(o, t)}"
               for o, t, d in zip(offs, shape, b.shape)]
        return [at(o, 0) for o in offs], ", ".join(key)
    def leaf(self, shape: tuple) -> tuple:
        r, par, kv = self.r, self.ctx.par, self.kw if "kernel_view" in self.avoid else ()
        tiles = [t for t in self.tiles if t.shape == shape and not (par and t.view in par[2]) and t.view not in kv]
        bufs = [b for b in self.bufs if b.dtype == "FP32" and self.readable(b, shape)]
        kind = r.choice(["tile"] * 2 * bool(tiles) + ["mem"] * 3 * bool(bufs) + ["full"])
        if kind == "tile":
            return (t := r.choice(tiles)).name, t.bound, t.view
        if kind == "full":
            return f"pl.full({list(shape)}, pl.FP32, {(v := r.randint(-8, 8) / 4)})", abs(v), None
        offs, key = self.box(b := r.choice(bufs), shape)
        style, base, bound = r.random(), b.base or b.name, 1.0 if (b.base or b.name)[0] == "x" else CAP  # x: [-1, 1]
        if style < 0.15:
            return f"pl.read({b.name}, [{', '.join(offs)}], {list(shape)})", bound, None
        code = f"pl.slice({b.name}, {list(shape)}, [{', '.join(offs)}])" if style < 0.3 else f"{b.name}[{key}]"
        return code, bound, base
    def operand(self, shape: tuple, d: int) -> tuple[str, float]:  # a tile, a number or a traced FP32 scalar
        if (u := self.r.random()) < 0.15 and self.ints:
            return f"pl.cast({self.r.choice(self.ints)}, pl.FP32)", float(T)
        return (str(v := self.r.randint(-8, 8) / 4), abs(v)) if u < 0.3 else self.expr(shape, d)[:2]
    def expr(self, shape: tuple, d: int) -> tuple:
        """(code, bound on |value|, the base buffer if it is a bare view of memory)."""
        r, (rows, cols) = self.r, shape
        if d <= 0 or r.random() < 0.2:
            return self.leaf(shape)
        k = r.choice(["bin"] * 4 + ["exp", "helper", "reshape"] + ["rexp"] * (cols > 1) + ["cexp"] * (rows > 1)
                     + ["rred"] * 3 * (cols == 1) + ["cred"] * 3 * (rows == 1))
        a, ba = self.expr(shape, d - 1)[:2]
        if k == "bin":
            op, (b, bb) = r.choice(["add", "sub", "mul", "maximum"]), self.operand(shape, d - 1)
            bound = ba * bb if op == "mul" else max(ba, bb) if op == "maximum" else ba + bb
            sym = {"add": "+", "sub": "-", "mul": "*"}.get(op)
            code = f"({a} {sym} {b})" if sym and r.random() < 0.3 else f"pl.{op}({a}, {b})"
        elif k == "exp":
            code, bound = (f"pl.exp({a})" if ba <= 3 else f"pl.exp(pl.minimum({a}, 3.0))"), float(np.exp(min(ba, 3.0)))
        elif k == "helper":
            b, bb = self.expr(shape, d - 1)[:2] if r.random() < 0.5 else ("", ba)
            code, bound = f"h_mix({a}, {b})" if b else f"h_norm({a})", ba + bb
        elif k == "reshape":
            r2 = r.choice([x for x in pow2(min(rows * cols, 32)) if rows * cols // x <= 64])
            src, bound, view = self.expr((r2, rows * cols // r2), d - 1)
            code = f"pl.reshape({f'pl.mul({src}, 1.0)' if view else src}, [{rows}, {cols}])"  # of a value, not a view
        elif k in ("rexp", "cexp"):
            v, bv = self.expr((rows, 1) if k == "rexp" else (1, cols), d - 1)[:2]
            op = r.choice(["_add", "_sub", "_mul", ""])
            bound = bv if not op else ba * bv if op == "_mul" else ba + bv
            code = f"pl.{'row' if k == 'rexp' else 'col'}_expand{op}({a}, {v})"
        else:
            n, op = r.choice(pow2(self.C if k == "rred" else self.R)[1:]), r.choice(["sum", "max", "min"])
            src, bs = self.expr((rows, n) if k == "rred" else (n, cols), d - 1)[:2]
            code, bound = f"pl.{'row' if k == 'rred' else 'col'}_{op}({src})", bs * n if op == "sum" else bs
        return (*clamp(code, bound), None)
    def write(self, b: Buf | None = None, shape: tuple | None = None) -> None:
        r, par = self.r, self.ctx.par
        cands = [x for x in self.bufs if x.writable and x.ready and x.dtype == "FP32" and (not par or x.name in par[2])]
        if not (b := b or (r.choice(cands) if cands else None)):
            return self.new_tile()
        if shape is None:
            shape = tuple(r.choice(pow2(par[2][b.name] if par and b.name in par[2] and a == par[1] else d))
                          for a, d in enumerate(b.shape))
        offs, key = self.box(b, shape)
        (e, _, _), style = self.expr(shape, r.randint(1, 3)), r.random()
        self.emit(f"h_store({b.name}, {e}, {offs[0]}, {offs[1]})" if style < 0.1 else  # h_rows: a value, not a view
                  f"h_rows({b.name}, pl.add({e}, 0.0), {offs[0]}, {offs[1]})" if style < 0.2 else
                  f"pl.assemble({b.name}, {e}, [{', '.join(offs)}])" if style < 0.45 else f"{b.name}[{key}] = {e}")
        self.kw |= {b.base or b.name} if self.ctx.kernel else set()
    def mutables(self) -> list:
        return [] if self.ctx.par else [t for t in self.tiles[self.ctx.mut_from:] if t.mutable]
    def new_tile(self, mutable: bool = False) -> None:
        shape = (self.r.choice(pow2(self.R)), self.r.choice(pow2(self.C)))
        code, bound, view = self.expr(shape, self.r.randint(0, 3))
        if mutable:  # its bound is CAP whatever it is reassigned to
            (code, bound), view = clamp(f"pl.add({code}, 0.0)", CAP + 1), None
        self.tiles.append(Tile(f"{'acc' if mutable else 't'}{next(self.ids)}", shape, bound, view, mutable))
        self.emit(f"{self.tiles[-1].name} = {code}")
    def reassign(self) -> None:
        t = self.r.choice(self.mutables())
        op, e = self.r.choice(["add", "sub", "maximum", "mul"]), self.operand(t.shape, self.r.randint(0, 2))[0]
        self.emit(f"{t.name} = " + clamp(f"pl.{op}({t.name}, {e})", CAP + 1)[0])
    def create(self, dtype: str) -> None:
        shape = (T, 1) if dtype == "INT32" else self.r.choice([(self.R, self.C)] * 2 + [(8, 16), (32, 8)])
        self.bufs.append(b := Buf(f"{'s' if dtype == 'FP32' else 'it'}{next(self.ids)}", shape, dtype, ready=False))
        self.emit(f"{b.name} = pl.create_tensor([{shape[0]}, {shape[1]}], pl.{dtype})")
        self.init(b)
    def init(self, b: Buf) -> None:  # write every element of `b`, which nothing reads before
        r, ctx = self.r, self.ctx
        kinds = ["whole"] + ([] if ctx.kernel or ctx.par else
                             ["spmd"] + ["rows", "par"] * self.ok("loop"))
        k = "int" if b.dtype == "INT32" else r.choice(kinds)
        if k == "int":
            src = r.choice([f"pl.full([{T}, 1], pl.INT32, {r.randint(0, 7)})", f"pl.arange([{T}, 1], pl.INT32)", "tab"])
            self.emit(f"pl.assemble({b.name}, {src}, [0, 0])" if r.random() < 0.5 else f"{b.name}[:, :] = {src}")
        else:
            _ = self.write(b, b.shape) if k == "whole" else self.region(k, b)
        b.ready = True
    def region(self, kind: str, b: Buf | None = None) -> None:
        """pl.parallel over column blocks, pl.range over row blocks (to fill `b`), pl.spmd over either: each iteration
        or block writes only its own block of the target buffers, and reads them only there."""
        r, ctx = self.r, self.ctx
        axis = {"par": 1, "rows": 0}.get(kind, r.randint(0, 1))
        targets = [b] if b else [x for x in self.bufs if x.writable and x.ready and not x.base and x.dtype == "FP32"]
        ext = r.choice(targets).shape[axis]
        tg = [x for x in targets if x.shape[axis] == ext][:r.randint(1, 2)]
        n, j = r.choice([x for x in pow2(min(ext, 4)) if ext % x == 0]), f"{kind[0]}{next(self.ids)}"
        header = {"par": f"for {j} in pl.parallel({n}):", "rows": f"for {j} in pl.range({n}):"}.get(kind) or r.choice(
            [f"for {j} in pl.spmd({n}, name_hint=\"{j}\"):", f"with pl.spmd({n}) as {j}:"])
        with self.block(header, idx=ctx.idx + [(j, 0, n - 1)], par=(j, axis, {x.name: ext // n for x in tg}),
                        kernel=ctx.kernel or kind == "spmd", loop=ctx.loop if kind == "spmd" else "nest"):
            wrap = kind == "par" and ("parallel_ws" in self.avoid or r.random() < 0.4)
            with self.block(f"with pl.at(name_hint=\"k{j}\"):", keep=True, kernel=True) if wrap else nullcontext():
                for x in tg:
                    self.stmts(0 if b else r.randint(0, 2), 1)
                    self.write(x, tuple(ext // n if a == axis else s for a, s in enumerate(x.shape)) if b else None)
    def int_stmt(self) -> None:
        if not self.ok("scalar"):
            return self.write()
        r, ctx = self.r, self.ctx
        tabs = [b for b in self.bufs if b.dtype == "INT32" and b.ready]
        k = r.choice([str(r.randint(0, T - 1))] + [v for v, lo, hi in ctx.idx if hi < T]
                     + [f"{n} % {T}" for n in self.ints])
        wtabs, s = [b for b in tabs if b.writable], r.random()
        if wtabs and not ctx.par and r.random() < 0.5:
            vals = [f"pl.const({r.randint(0, 7)}, pl.INT32)"] + [f"({n} + {r.randint(1, 5)}) % 8" for n in self.ints]
            vals += [f"(pl.cast({i}, pl.INT32) + {r.randint(0, 3)}) % 8" for i, *_ in ctx.idx]
            b, v = r.choice(wtabs), r.choice(vals)
            self.emit(f"pl.write({b.name}, [{k}, 0], {v})" if s < 0.4 else f"{b.name}[{k}, 0] = {v}" if s < 0.7
                      else f"h_put({b.name}, {k}, {v})")
        else:
            b, n = r.choice(tabs), f"n{next(self.ids)}"
            self.emit(f"{n} = " + (f"pl.read({b.name}, [{k}, 0])" if s < 0.5 else f"{b.name}[{k}, 0]"))
            self.ints.append(n)
    def stmts(self, count: int, depth: int) -> None:
        _ = [self.stmt(depth) for _ in range(count)]
    def stmt(self, depth: int) -> None:
        r, ctx = self.r, self.ctx
        kinds = ["tile"] * 3 + ["write"] * 4 + ["int_stmt"] * 2 + ["reassign"] * 2 * bool(self.mutables())
        if depth > 0:
            kinds += ["view"] + ["loop"] * 2 * self.ok("loop") + ["if"] * bool(self.ints)
            if not ctx.par and not ctx.kernel:
                kinds += ["create"] + ["par"] * self.ok("loop") + ["spmd", "scope", "at"]
        k = r.choice(kinds)
        if k in ("write", "int_stmt", "reassign"):
            getattr(self, k)()
        elif k == "tile":
            self.new_tile(mutable=not ctx.par and r.random() < 0.3)
        elif k == "create":
            self.create(r.choice(["FP32", "FP32", "INT32"]))
        elif k == "view":
            b = r.choice([b for b in self.bufs if not b.base and b.dtype == "FP32" and self.readable(b, (1, 1))])
            n = b.shape[0] * b.shape[1]
            c2 = r.choice([c for c in pow2(min(n, 64)) if n // c <= 64])
            self.bufs.append(v := Buf(f"v{next(self.ids)}", (n // c2, c2), writable=b.writable, base=b.name))
            self.emit(f"{v.name} = pl.reshape({b.name}, [{n // c2}, {c2}])")
        elif k == "if":
            n, c, fresh = r.choice(self.ints), r.randint(0, 7), ctx.kernel and "if_in_kernel" in self.avoid
            arm = dict(arm=True, mut_from=len(self.tiles) if fresh else ctx.mut_from)  # fresh: no outer name reassigned
            with self.block(f"if {r.choice([f'{n} > {c}', f'{n} % 2 == 0', f'{n} <= {c}', f'{n} == {c}'])}:", **arm):
                self.stmts(r.randint(1, 3), depth - 1)
            if r.random() < 0.6:
                with self.block("else:", **arm):
                    self.stmts(r.randint(1, 2), depth - 1)
        elif k == "at":
            with self.block(f"with pl.at(name_hint=\"k{next(self.ids)}\"):", keep=True, kernel=True):
                self.stmts(r.randint(1, 3), depth - 1)
        elif k in ("spmd", "par", "loop"):
            _ = self.loop(depth) if k == "loop" else self.region(k)
        else:  # a tile made in a scope dies with it, so names from outside are not reassigned in it
            with self.block("with pl.scope():", mut_from=len(self.tiles)):
                if r.random() < 0.7:
                    self.create("FP32")
                self.stmts(r.randint(1, 3), depth - 1)
    def loop(self, depth: int) -> None:
        r, ctx = self.r, self.ctx
        mode = r.choice(["carry", "nest"]) if "loop_then_nest" in self.avoid else "carry"
        if mode == "carry" and not ctx.par and r.random() < 0.6:
            self.new_tile(mutable=True)
        n, lo, step, i = r.randint(1, 4), r.choice([0, 0, 1]), r.choice([1, 1, 2]), f"i{next(self.ids)}"
        stop, hi, one = lo + step * n, lo + step * (n - 1), step == 1
        header = r.choice([f"pl.range({lo}, {stop}, {step})"] + [f"pl.range({lo}, {stop})"] * one
                          + [f"pl.range({stop})"] * (one and lo == 0))
        if self.ints and r.random() < 0.25:  # a traced trip count
            header, lo, hi = f"pl.range({r.choice(self.ints)} % {n} + 1)", 0, n - 1
        with self.block(f"for {i} in {header}:", idx=ctx.idx + [(i, lo, hi)], loop=mode,
                        mut_from=len(self.tiles) if mode == "nest" else ctx.mut_from):
            if mode == "carry" and self.mutables():
                self.reassign()
            self.stmts(r.randint(1, 3), depth - 1)
        for t in self.tiles[ctx.mut_from:] if "loop_after_loop" in self.avoid and mode == "carry" else ():
            t.mutable = False  # a tile a loop may have carried is not carried again
    def program(self) -> tuple[str, list]:
        r, _ = self.r, [self.init(b) for b in self.bufs if not b.ready]
        if not self.auto and r.random() < 0.5:
            with self.block("with pl.scope():", mut_from=len(self.tiles)):
                self.create("FP32")
                self.stmts(r.randint(1, 4), 2)
        self.stmts(r.randint(2, 6), 2)
        if rets := [t.name for t in self.tiles if r.random() < 0.15][:2]:
            self.emit(f"return {', '.join(rets)}")
        ann = {"x": "pl.Tensor[{}]", "tab": "pl.Tensor[{}]", "out": "pl.Out[pl.Tensor[{}]]"}
        sig = [f"{b.name}: " + ann.get(b.name.rstrip("0123456789"), "pl.InOut[pl.Tensor[{}]]").format(
            f"{list(b.shape)}, pl.{b.dtype}") for b in self.params] + ["n0: pl.Scalar[pl.INT32]"] * ("n0" in self.ints)
        head = f"import pto.language as pl\n{HELPERS}\n\n@pl.jit{'' if self.auto else '(auto_scope=False)'}"
        return "\n".join([head, f"def kernel({', '.join(sig)}):"] + self.lines) + "\n", [
            (b.name, b.shape, b.dtype) for b in self.params] + [("n0", (), "INT32")] * ("n0" in self.ints)

def generate(seed: int, avoid=KNOWN_BUGS) -> tuple[str, list]:  # source, [(name, shape, dtype)] of the parameters
    return Gen(seed, avoid).program()

def check(seed: int, workdir: str | None = None, avoid=KNOWN_BUGS, source: str | None = None,
          sim: bool = True) -> str | None:
    """Run program `seed` (or `source`, with program `seed`'s arguments) before and after the passes, and with
    `sim` on a2a3sim (program order under the sanitizer, then the random schedule of seed `seed`): None when
    everything agrees, else what failed (trace / roundtrip / reference / pipeline / compare / a2a3sim) and the
    source."""
    generated, sig = generate(seed, avoid)
    source, stage = source or generated, "trace"
    fail = lambda stage, msg: f"program {seed} fails at {stage}: {msg}\n--- program {seed} ---\n{source}"  # noqa: E731
    path = os.path.join(workdir or tempfile.gettempdir(), f"pto_fuzz_{seed}_{os.getpid()}.py")
    try:
        pathlib.Path(path).write_text(source)  # the tracer reads loop bodies and `if`s from the real file
        spec = importlib.util.spec_from_file_location(f"pto_fuzz_{seed}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        rng = np.random.default_rng(seed)  # FP32 inputs in [-1, 1], INT32 table entries and n0 in [0, 8)
        ref = [int(rng.integers(0, T)) if not shape else rng.integers(0, T, size=shape).astype(np.int32)
               if dtype == "INT32" else rng.uniform(-1, 1, size=shape).astype(np.float32) for _, shape, dtype in sig]
        pipe = [np.array(a) if isinstance(a, np.ndarray) else a for a in ref]
        pristine = [np.array(a) if isinstance(a, np.ndarray) else a for a in ref]
        traced = module.kernel.compile(*ref)
        stage, text = "roundtrip", printer.print_function(traced.function)
        if printer.print_function(parser.parse_function(text)) != text:
            return fail(stage, "print -> parse -> print changed the traced IR")
        stage = "reference"
        got = module.kernel(*ref, platform="ref")
        got = list(got) if isinstance(got, tuple) else [] if got is None else [got]
        stage = "pipeline"
        outs = run_program(compile_function(traced.function).program, pipe)
        bad = [f"'{n}' at {np.argwhere(a != b).tolist()[:4]}" for (n, *_), a, b in zip(sig, ref, pipe)
               if isinstance(a, np.ndarray) and a.tobytes() != b.tobytes()]
        bad += ["a returned tensor"] * (len(got) != len(outs) or any(np.asarray(a).tobytes() != b.tobytes()
                                                                       for a, b in zip(got, outs)))
        if bad:
            return fail("compare", f"differs after the passes: {', '.join(bad)}")
        stage = "a2a3sim"
        bad = _on_a2a3sim(traced, pristine, ref, got, seed) if sim else []
        return fail(stage, f"differs from the reference: {', '.join(bad)}") if bad else None
    except Exception as e:  # noqa: BLE001 - every exception is a finding
        return fail(stage, f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)[-4:]))
    finally:
        linecache.cache.pop(path, None)
        pathlib.Path(path).unlink(missing_ok=True)

def _on_a2a3sim(traced, pristine: list, want_args: list, want_outs: list, seed: int) -> list[str]:
    """Runs on a2a3sim twice (program order + sanitizer; seeded random order); what differs from the reference."""
    from .codegen.cpp_scalar import OrchestrationUnsupported
    from .sim.a2a3sim import SimOptions, simulation_of  # the emitted C++ is built once per program
    try:
        simulation_of(traced)
    except OrchestrationUnsupported:
        return []  # a form the emitter rejects at its line (e.g. > 16 scalars for one task): loud, not wrong
    bad = []
    for options in (SimOptions(seed=None, sanitize=True), SimOptions(seed=seed, sanitize=False)):
        args = [np.array(a) if isinstance(a, np.ndarray) else a for a in pristine]
        outs = simulation_of(traced).run(args, options)
        bad += [f"argument {i} ({options})" for i, (a, b) in enumerate(zip(want_args, args))
                if isinstance(a, np.ndarray) and a.tobytes() != b.tobytes()]
        bad += [f"a returned tensor ({options})"] * any(np.asarray(a).tobytes() != b.tobytes()
                                                        for a, b in zip(want_outs, outs))
    return bad


def run(programs: int, seed: int = 0, jobs: int = 1, avoid=KNOWN_BUGS, progress=None) -> list[str]:
    """Check programs seed .. seed + programs - 1 in `jobs` processes; returns the failures."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="pto_fuzz_") as d, (
            multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else nullcontext()) as pool:
        one, seeds = functools.partial(check, workdir=d, avoid=avoid), range(seed, seed + programs)
        for k, f in enumerate(pool.imap(one, seeds, chunksize=4) if pool else map(one, seeds), 1):
            failures += [f] if f else []
            _ = progress and progress(k, f)
    return failures

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pto.fuzz", description=__doc__.split("\n")[0])
    p.add_argument("--programs", type=int, default=500)
    p.add_argument("--seed", type=int, default=0, help="program k has seed S + k (rerun it: --seed S+k --programs 1)")
    p.add_argument("--jobs", type=int, default=1, help="processes")
    p.add_argument("--known-bugs", action="store_true", help="also generate the triggers of KNOWN_BUGS")
    a, start, failed = p.parse_args(argv), time.perf_counter(), []
    def progress(k: int, f: str | None) -> None:
        if f:
            failed.append(print(f"FAIL {f}", flush=True))
        if k % 50 == 0 or k == a.programs:
            print(f"[{k}/{a.programs}] {len(failed)} failed, {k / (time.perf_counter() - start):.1f}/s", flush=True)
    return 1 if run(a.programs, a.seed, a.jobs, frozenset() if a.known_bugs else KNOWN_BUGS, progress) else 0

if __name__ == "__main__":
    sys.exit(main())
