"""The syntax tree of an XQL query.

A :class:`Query` is a list of pipelines (modeling rules separate several with
``;``), each a list of :class:`Stage` objects. Expressions are small frozen
dataclasses; every node knows the line and column where it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    """Where a node starts in the query text."""

    line: int
    column: int


@dataclass(frozen=True)
class Literal(Node):
    """A string, number, duration, boolean, null or backtick literal."""

    value: str | float | bool | None
    kind: str


@dataclass(frozen=True)
class FieldRef(Node):
    """A field, possibly dotted (``xdm.source.ipv4``, ``alias.field``)."""

    name: str


@dataclass(frozen=True)
class Placeholder(Node):
    """A template placeholder such as ``{endpoint_ids}``, not yet filled in."""

    name: str


@dataclass(frozen=True)
class Call(Node):
    """A function call."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Node):
    """``not x`` or ``-x``."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    """A binary operation: logic, comparison, arithmetic, ``contains``, ``incidr``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class InList(Node):
    """``x in (a, b)`` or ``x not in (a, b)``."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class JsonPath(Node):
    """``x -> a.b[0]``: the JSON-path shorthand for ``json_extract``."""

    operand: Expr
    path: str


Expr = Literal | FieldRef | Placeholder | Call | Unary | Binary | InList | JsonPath


@dataclass(frozen=True)
class Assign(Node):
    """``target = value`` in ``alter``, or ``value as target`` elsewhere."""

    target: str
    value: Expr


@dataclass(frozen=True)
class FieldItem(Node):
    """A field named by a stage, with its optional alias or sort order."""

    name: str
    alias: str | None = None
    order: str | None = None


@dataclass
class Stage:
    """One stage of a pipeline; which attributes are used depends on ``name``."""

    line: int
    column: int
    name: str
    exprs: list[Expr] = field(default_factory=list)
    assigns: list[Assign] = field(default_factory=list)
    items: list[FieldItem] = field(default_factory=list)
    by: list[FieldItem] = field(default_factory=list)
    options: dict[str, Expr] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)
    subquery: Pipeline | None = None
    alias: str | None = None


@dataclass
class Pipeline:
    """Stages joined by ``|``."""

    stages: list[Stage]


@dataclass
class Query:
    """A whole query: an optional ``[MODEL: …]`` header and its pipelines."""

    pipelines: list[Pipeline]
    header: dict[str, str] = field(default_factory=dict)

    def stage_names(self) -> list[str]:
        """Return the names of the top-level stages, in order."""
        return [stage.name for p in self.pipelines for stage in p.stages]

    def datasets(self) -> list[str]:
        """Return every dataset the query reads, sub-queries included."""
        found = list(filter(None, [self.header.get("dataset")]))
        for pipeline in self.pipelines:
            found.extend(_datasets(pipeline))

        return list(dict.fromkeys(found))


def _datasets(pipeline: Pipeline) -> Iterator[str]:
    """Yield the datasets a pipeline and its sub-queries read."""
    for stage in pipeline.stages:
        yield from stage.datasets
        if stage.subquery is not None:
            yield from _datasets(stage.subquery)


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield ``expr`` and every expression inside it, depth first."""
    yield expr
    if isinstance(expr, Call):
        for arg in expr.args:
            yield from walk(arg)
    elif isinstance(expr, Unary):
        yield from walk(expr.operand)
    elif isinstance(expr, Binary):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, InList):
        yield from walk(expr.operand)
        for item in expr.items:
            yield from walk(item)
    elif isinstance(expr, JsonPath):
        yield from walk(expr.operand)
