"""The shared state of the PTO-AS emitter: names, aliases, index constants, tiles and pipe flags.

Requires: a kernel function and a dialect (spelling.py).
Produces: the building blocks the op mixins (asm_scalar, asm_views, asm_vector, asm_cube) use: a
tile is allocated once per value (no reuse: ptoas plans addresses and checks capacity), and `sync`
puts `set_flag`/`wait_flag` between the pipe that last wrote (or still reads) a tile and the next.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis.memory import buffer_roots
from ..ir.core import Function, Op, Value
from ..ir.types import Loc
from .spelling import ELEMENT, LAYOUT, Dialect


class Unsupported(Exception):
    def __init__(self, reason: str, loc: Loc | None = None):
        super().__init__(f"{loc}: {reason}" if loc else reason)
        self.reason, self.loc = reason, loc


@dataclass
class Tile:
    name: str
    type: str  # the alias of its tile_buf type
    home: str  # key of LAYOUT
    writer: str | None = None  # the pipe that last wrote it
    reader: str | None = None  # the pipe that last read it


class EmitterBase:
    def __init__(self, f: Function, d: Dialect):
        self.f, self.d = f, d
        self.roots = buffer_roots(f)
        self.aliases: dict[str, str] = {}
        self.body: list[str] = []
        self.names: dict[Value, str] = {}
        self.tiles: dict[Value, Tile] = {}
        self.views: dict[Value, tuple[Value, tuple]] = {}  # GM value -> (its tensor view's param, offsets)
        self.consts: dict[tuple, str] = {}
        self.tensor_views: dict[Value, str] = {}
        self.count = 0
        self.depth = 2
        self._uses: dict | None = None
        self.zeros: set[Value] = set()  # pl.full(0) values that only seed matmul_acc accumulators
        self.first_pass: set[Value] = set()  # accumulators in a loop's peeled first iteration
        self.carried_acc: set[Value] = set()  # loop-carried accumulators, updated in place
        self.recording: list | None = None  # tiles the peeled first iteration allocates ...
        self.replay: list = []  # ... which the loop after it reuses in the same order
        self.gm_stored: dict[str, tuple[str, set]] = {}  # pointer -> (pipe of its last store, pipes since ordered)

    # --- text ---------------------------------------------------------------------------------
    def fresh(self, hint: str = "v") -> str:
        self.count += 1
        return f"%{hint}{self.count}"

    def line(self, text: str) -> None:
        self.body.append("  " * self.depth + text)

    def alias(self, text: str, prefix: str) -> str:
        if text not in self.aliases:
            self.aliases[text] = f"!{prefix}{len(self.aliases)}"
        return self.aliases[text]

    def text(self) -> str:
        head = [f"{name} = {t}" for t, name in self.aliases.items()]
        return "\n".join(head + ["module {"] + self.header + self.body + ["    return", "  }", "}", ""])

    def elem(self, dtype, loc: Loc | None) -> str:
        t = ELEMENT[dtype.name]
        if t not in self.d.dtypes and t != "index":
            raise Unsupported(f"{dtype.name} is not an element type of the {self.d.name} dialect", loc)
        return t


    def index_const(self, n: int) -> str:
        key = ("index", n)
        if key not in self.consts:
            name = f"%c{n}" if n >= 0 else f"%cm{-n}"
            self.consts[key] = name
            self.body.insert(0, f"    {name} = arith.constant {n} : index")
        return self.consts[key]

    def index(self, x: int | str | Value) -> str:
        """The SSA name of an index: a constant, an already emitted name, or a kernel value."""
        if isinstance(x, int):
            return self.index_const(x)
        return x if isinstance(x, str) else self.names[x]


    # --- tiles --------------------------------------------------------------------------------
    def tile(self, v: Value, home: str, loc: Loc | None) -> Tile:
        t = v.type
        if len(t.shape) != 2:
            raise Unsupported(f"a rank-{len(t.shape)} tile (tiles are 2-D)", loc)
        key, blayout, slayout, fractal = LAYOUT[home]
        rows, cols = t.shape
        text = (f"!pto.tile_buf<loc={key or self.d.ub}, dtype={self.elem(t.dtype, loc)}, rows={rows}, cols={cols}, "
                f"v_row={rows}, v_col={cols}, blayout={blayout}, slayout={slayout}, fractal={fractal}, pad=0>")
        if self.replay:
            tile = self.replay.pop(0)
            if tile.type == self.alias(text, "tb"):
                self.tiles[v] = tile
                return tile
            self.replay = []
        tile = Tile(self.fresh("t"), self.alias(text, "tb"), home)
        self.line(f"{tile.name} = pto.alloc_tile : {tile.type}")
        self.tiles[v] = tile
        if self.recording is not None:
            self.recording.append(tile)
        return tile

    def operand(self, v: Value, home: str, loc: Loc | None) -> Tile:
        """The tile holding `v`, loading it from GM first when `v` is a GM window."""
        if v in self.tiles:
            return self.tiles[v]
        if v not in self.views:
            raise Unsupported(f"operand {v.hint or ''} is neither a tile nor a GM window", loc)
        tile = self.tile(v, home, loc)
        win, wt = self.window(v, v.type.shape)
        self.order_after_stores(self.views[v][0], "PIPE_MTE2")
        self.sync(tile, "PIPE_MTE2", write=True)
        self.line(f"pto.tload ins({win} : {wt}) outs({tile.name} : {tile.type})")
        del self.tiles[v]  # a later use of the window loads it again (its contents may change)
        return tile

    def order_after_stores(self, param: Value, pipe: str) -> None:
        """A read of GM this kernel stored to waits for the store's pipe (MTE3 or FIX) first."""
        stored = self.gm_stored.get(self.names[param])
        if stored and pipe not in stored[1] and stored[0] != pipe:
            self.line(f"pto.set_flag[<{stored[0]}>, <{pipe}>, <EVENT_ID0>]")
            self.line(f"pto.wait_flag[<{stored[0]}>, <{pipe}>, <EVENT_ID0>]")
            stored[1].add(pipe)

    def sync(self, tile: Tile, pipe: str, write: bool) -> None:
        """Wait for the pipe that last wrote `tile` (and, before a write, the one still reading it)."""
        for prev in sorted({tile.writer, tile.reader if write else None} - {None, pipe}):
            self.line(f"pto.set_flag[<{prev}>, <{pipe}>, <EVENT_ID0>]")
            self.line(f"pto.wait_flag[<{prev}>, <{pipe}>, <EVENT_ID0>]")
        if write:
            tile.writer, tile.reader = pipe, None
        else:
            tile.reader = pipe

    def result_tile(self, op: Op, home: str = "vec") -> Tile:
        t = op.results[0].type
        if home == "vec" and len(t.shape) == 2 and t.shape[1] == 1 and t.shape[0] > 1:
            home = "vec_col"
        tile = self.tile(op.results[0], home, op.loc)
        return tile

    def copy(self, src: Tile, dst: Tile) -> None:
        if "acc" in (src.home, dst.home):
            raise Unsupported("a loop carrying an L0C tile it does not accumulate into (tmov has no acc -> acc form)")
        self.sync(src, "PIPE_V", write=False)
        self.sync(dst, "PIPE_V", write=True)
        self.line(f"pto.tmov ins({src.name} : {src.type}) outs({dst.name} : {dst.type})")


