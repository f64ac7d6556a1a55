"""IR structure: values, regions, the op base class, functions and programs.

An op class declares its fields once (`fields = {"src": V, "offsets": IDXS, ...}`); the printer,
parser, verifier and interpreter all work from that declaration and look ops up by class.

Field kinds:
  V      one SSA value operand
  VS     a tuple of SSA value operands
  IDX    an index that is either a Python int (static) or an SSA scalar (dynamic)
  IDXS   a tuple of IDX
  INT, FLOAT, NUM, STR, BOOL, DTYPE, INTS   plain attributes
Any attribute may be None when the op allows it (`optional` set on the class).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterator

from .types import DType, Loc, ScalarType, TensorType, Type, UNKNOWN_LOC

V, VS, IDX, IDXS, INT, FLOAT, NUM, STR, BOOL, DTYPE, INTS = (
    "value", "values", "index", "indices", "int", "float", "num", "str", "bool", "dtype", "ints")
OPERAND_KINDS = (V, VS, IDX, IDXS)


class Value:
    """An SSA value. `hint` is only a printing preference; identity is the object."""

    __slots__ = ("type", "hint", "owner")

    def __init__(self, type: Type, hint: str | None = None, owner: "Op | None" = None):
        self.type = type
        self.hint = hint
        self.owner = owner  # the op whose result this is; None for params and block args

    def __repr__(self) -> str:
        return f"Value({self.hint or id(self)}: {self.type})"


class Region:
    """A single-block region: block arguments, then ops, ending with a terminator (`pl.yield`)."""

    __slots__ = ("args", "ops")

    def __init__(self, args: list[Value] | None = None, ops: list["Op"] | None = None):
        self.args = args or []
        self.ops = ops or []

    def walk(self) -> Iterator["Op"]:
        for op in self.ops:
            yield op
            for r in op.regions:
                yield from r.walk()


class Op:
    """Base of every IR op. Subclasses set `name`, `fields`, and implement `infer`."""

    name: ClassVar[str] = ""
    fields: ClassVar[dict[str, str]] = {}
    optional: ClassVar[frozenset[str]] = frozenset()
    num_regions: ClassVar[int] = 0
    is_terminator: ClassVar[bool] = False

    def __init__(self, *, loc: Loc = UNKNOWN_LOC, results: list[Value] | None = None,
                 regions: list[Region] | None = None, **attrs: Any):
        for key in self.fields:
            value = attrs.pop(key, None)
            if value is None and key not in self.optional:
                raise TypeError(f"{self.name}: missing field '{key}'")
            if isinstance(value, list):
                value = tuple(value)
            setattr(self, key, value)
        if attrs:
            raise TypeError(f"{self.name}: unknown fields {sorted(attrs)}")
        self.loc = loc
        self.regions = regions if regions is not None else [Region() for _ in range(self.num_regions)]
        self.results = results if results is not None else []

    # --- operands -------------------------------------------------------------------------
    def operands(self) -> list[Value]:
        """Every SSA value this op reads (including dynamic indices), in field order."""
        out: list[Value] = []
        for key, kind in self.fields.items():
            v = getattr(self, key)
            if v is None:
                continue
            if kind == V:
                out.append(v)
            elif kind in (VS, IDXS):
                out.extend(x for x in v if isinstance(x, Value))
            elif kind == IDX and isinstance(v, Value):
                out.append(v)
        return out

    def replace_operands(self, mapping: dict[Value, Value]) -> None:
        """Substitute operands by identity (used by the tracer to resolve placeholders)."""
        def sub(x: Any) -> Any:
            return mapping.get(x, x) if isinstance(x, Value) else x

        for key, kind in self.fields.items():
            v = getattr(self, key)
            if v is None:
                continue
            if kind in (V, IDX):
                setattr(self, key, sub(v))
            elif kind in (VS, IDXS):
                setattr(self, key, tuple(sub(x) for x in v))

    # --- typing ---------------------------------------------------------------------------
    def infer(self) -> list[Type]:
        """The result types implied by the operands and attributes; raises IRTypeError."""
        raise NotImplementedError(self.name)

    def __repr__(self) -> str:
        return f"<{self.name} @ {self.loc}>"


class IRTypeError(Exception):
    """A type rule of an op failed. The tracer turns it into a user-facing error at the op's line."""


class Param:
    """A function parameter: a tensor with a direction ("in", "out", "inout"), or a scalar."""

    __slots__ = ("value", "direction")

    def __init__(self, value: Value, direction: str = "in"):
        self.value = value
        self.direction = direction

    @property
    def name(self) -> str:
        return self.value.hint or "arg"


class Function:
    def __init__(self, name: str, params: list[Param], body: Region, result_types: list[Type],
                 attrs: dict[str, Any] | None = None):
        self.name = name
        self.params = params
        self.body = body
        self.result_types = result_types
        self.attrs = attrs or {}

    def walk(self) -> Iterator[Op]:
        return self.body.walk()


class Program:
    """A compiled unit: its functions, the first of which is the entry."""

    def __init__(self, functions: list[Function]):
        self.functions = functions

    @property
    def entry(self) -> Function:
        return self.functions[0]


OP_REGISTRY: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: make an op known to the parser by its name. Names are unique."""
    if cls.name in OP_REGISTRY:
        raise ValueError(f"duplicate op name {cls.name}")
    OP_REGISTRY[cls.name] = cls
    return cls


def is_tensor(v: Value) -> bool:
    return isinstance(v.type, TensorType)


def is_scalar(v: Value) -> bool:
    return isinstance(v.type, ScalarType)


def dtype_of(v: Value) -> DType:
    return v.type.dtype
