"""How PTO-AS is spelled: one table per dialect, so the emitter is written once.

`CURRENT` is the PTOAS main spelling (`loc=vec`, `partition_view`, `tensor_view<?x?xT>`, uniform
binary operands, a tmp operand on row reductions). `V0_1_1` is the January-2026 spelling that the
PyPI `ptoas==0.1.1` accepts (`loc=ub`, `subview`, `tensor_view<2xT>`, mixed operand forms, f32/f16/
i32 only, index math limited to addi/muli). Facts: ../shared/reference/ptoas.md §5 and §9.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dialect:
    name: str
    ub: str  # the `loc` of vector tiles
    view_op: str  # the op that cuts a window out of a tensor view
    window_type: str  # format of a window type: {shape} like 16x64, {t} element type
    tensor_view_type: str  # format: {rank}, {t}
    view_comma: str  # between `shape = [...]` and `strides = [...]`
    split_binary: frozenset = field(default_factory=frozenset)  # ops written ins(%a : Ta, %b : Tb)
    reduction_tmp: bool = False  # row reductions take a tmp tile
    dtypes: frozenset = frozenset({"f32", "f16", "bf16", "i32", "i16", "i8", "ui8", "i64", "i1"})
    index_ops: frozenset = frozenset({"addi", "muli", "subi", "divsi", "remsi", "floordivsi"})
    cross_core: bool = True  # tpush / tpop between the cube and vector parts
    load_scalar: bool = True  # pto.load_scalar (a scalar read of GM)
    # broadcast ops beyond trowexpand{sub,mul,div} / tcolexpand / trowexpand
    more_expands: frozenset = frozenset({"trowexpandadd", "tcolexpandadd", "tcolexpandsub", "tcolexpandmul",
                                         "tcolexpanddiv"})
    untyped_scalar: frozenset = frozenset()  # tile-scalar ops written ins(%a : Ta, %s)
    broken_ops: dict = field(default_factory=dict)  # mnemonic -> why the dialect's tool cannot take it


CURRENT = Dialect(
    name="current", ub="vec", view_op="partition_view", window_type="!pto.partition_tensor_view<{shape}x{t}>",
    tensor_view_type="!pto.tensor_view<{dims}x{t}>", view_comma=",", reduction_tmp=True,
)

V0_1_1 = Dialect(
    name="0.1.1", ub="ub", view_op="subview", window_type="!pto.tile_view<{shape}x{t}>",
    tensor_view_type="!pto.tensor_view<{rank}x{t}>", view_comma="",
    split_binary=frozenset({"tmul", "tmax", "tmin"}), reduction_tmp=False, load_scalar=False,
    dtypes=frozenset({"f32", "f16", "i32"}), index_ops=frozenset({"addi", "muli"}), cross_core=False,
    more_expands=frozenset(), untyped_scalar=frozenset({"tmaxs", "tmins"}),
    broken_ops={"tmaxs": "crashes ptoas 0.1.1 (rc 134)"},
)

DIALECTS = {d.name: d for d in (CURRENT, V0_1_1)}

# pl dtype name -> MLIR element type
ELEMENT = {"fp32": "f32", "fp16": "f16", "bf16": "bf16", "int32": "i32", "int16": "i16", "int8": "i8",
           "uint8": "ui8", "int64": "i64", "index": "index", "bool": "i1"}

# tile homes: (loc key or None for the dialect's UB, blayout, slayout, fractal)
LAYOUT = {
    "vec": (None, "row_major", "none_box", 512),
    "vec_col": (None, "col_major", "none_box", 512),  # [R, 1] row-reduction results
    "mat": ("mat", "col_major", "row_major", 512),
    "mat_t": ("mat", "row_major", "col_major", 512),  # a transposed (DN) load of an ND window
    "left": ("left", "row_major", "row_major", 512),
    "right": ("right", "row_major", "col_major", 512),
    "acc": ("acc", "col_major", "row_major", 1024),
}
