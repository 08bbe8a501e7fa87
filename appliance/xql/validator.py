"""Validate an XQL query: syntax first, then stages, functions and fields.

Syntax errors stop at the first one. The checks on a parsed query collect every
finding: an unknown function, a wrong number of arguments, an aggregate outside
``comp``, a source stage that is not first, a bad ``join`` type or ``limit`` are
errors; a field that ``xdr_data`` does not have and an unfilled template
placeholder are warnings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field

from appliance.xql.ast import (
    Call,
    Expr,
    FieldItem,
    FieldRef,
    Literal,
    Pipeline,
    Placeholder,
    Query,
    Stage,
    walk,
)
from appliance.xql.catalogue import (
    AGGREGATES,
    DEFAULT_DATASET,
    ENUM_VALUES,
    FUNCTIONS,
    JOIN_TYPES,
    SOURCE_STAGES,
    WINDOW_FUNCTIONS,
    XDR_DATA_FIELDS,
    XDR_FIELD_SOURCES,
)
from appliance.xql.errors import Diagnostic, XqlSyntaxError
from appliance.xql.parser import parse

AGGREGATING_STAGES = frozenset({"comp", "windowcomp", "transaction", "top"})
KNOWN_CALLABLES = sorted({*FUNCTIONS, *AGGREGATES, *WINDOW_FUNCTIONS})


@dataclass
class Validation:
    """The outcome of validating one query."""

    query: Query | None
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Return whether the query has no errors (warnings are allowed)."""
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        """Return the outcome as JSON-ready data."""
        return {
            "valid": self.valid,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    def raise_for_errors(self) -> None:
        """Raise the first error as :class:`XqlSyntaxError`, if there is one."""
        if self.errors:
            first = self.errors[0]
            raise XqlSyntaxError(first.reason, line=first.line, column=first.column)


def validate(text: str) -> Validation:
    """Return the errors and warnings of the XQL query ``text``."""
    try:
        query = parse(text)
    except XqlSyntaxError as exc:
        return Validation(query=None, errors=[exc.diagnostic])
    result = Validation(query=query)
    default = query.header.get("dataset")
    for pipeline in query.pipelines:
        _check_pipeline(pipeline, result, nested=False, header=bool(query.header))
        _check_fields(pipeline, result, default)
    result.errors.sort(key=lambda d: (d.line, d.column))

    return result


def _error(result: Validation, node: Stage | Expr | FieldItem, reason: str) -> None:
    result.errors.append(Diagnostic(node.line, node.column, reason))


def _warn(result: Validation, node: Stage | Expr | FieldItem, reason: str) -> None:
    result.warnings.append(Diagnostic(node.line, node.column, reason, "warning"))


def _check_pipeline(
    pipeline: Pipeline, result: Validation, *, nested: bool, header: bool
) -> None:
    """Check stage order, stage arguments and every function call."""
    seen_other = False
    seen_source = False
    for stage in pipeline.stages:
        if stage.name == "config":
            if seen_other or seen_source:
                _error(result, stage, "'config' must come before every other stage")
        elif stage.name in SOURCE_STAGES:
            if seen_other:
                _error(result, stage, f"'{stage.name}' must be the first stage")
            if header:
                _error(
                    result, stage, "a modeling rule takes its dataset from the header"
                )
            seen_source = True
        else:
            seen_other = True
        _check_stage(stage, result)
        if stage.subquery is not None:
            _check_pipeline(stage.subquery, result, nested=True, header=False)
    if nested and pipeline.stages[0].name not in SOURCE_STAGES | {"config"}:
        _error(result, pipeline.stages[0], "a sub-query must start with 'dataset'")


def _stage_exprs(stage: Stage) -> Iterator[Expr]:
    """Yield every expression a stage holds."""
    yield from stage.exprs
    yield from (assign.value for assign in stage.assigns)
    yield from stage.options.values()


def _check_stage(stage: Stage, result: Validation) -> None:
    """Check one stage's arguments and its function calls."""
    for expr in _stage_exprs(stage):
        for node in walk(expr):
            if isinstance(node, Call):
                _check_call(node, stage, result)
            elif isinstance(node, Placeholder):
                _warn(
                    result,
                    node,
                    f"template placeholder {{{node.name}}} is not filled in",
                )
    if stage.name == "comp":
        for assign in stage.assigns:
            value = assign.value
            if not (isinstance(value, Call) and value.name in AGGREGATES):
                _error(
                    result,
                    value,
                    "'comp' needs an aggregate such as count(), "
                    "sum() or count_distinct()",
                )
    elif stage.name == "limit":
        _check_limit(stage.exprs[0], result)
    elif stage.name == "join":
        kind = stage.options.get("type")
        if isinstance(kind, FieldRef) and kind.name.lower() not in JOIN_TYPES:
            known = ", ".join(sorted(JOIN_TYPES))
            _error(result, kind, f"unknown join type '{kind.name}'; known: {known}")
    elif stage.name == "config" and "case_sensitive" in stage.options:
        value = stage.options["case_sensitive"]
        if not (isinstance(value, Literal) and value.kind in ("bool", "backtick")):
            _error(result, value, "'case_sensitive' takes true or false")


def _check_limit(expr: Expr, result: Validation) -> None:
    if isinstance(expr, Literal) and isinstance(expr.value, float):
        if expr.value < 1 or expr.value != int(expr.value):
            _error(result, expr, "'limit' takes a positive whole number")


def _check_call(call: Call, stage: Stage, result: Validation) -> None:
    """Check that a function exists, fits the stage and has enough arguments."""
    name = call.name
    if name in FUNCTIONS:
        arity = FUNCTIONS[name]
    elif name in AGGREGATES:
        arity = AGGREGATES[name]
        if stage.name not in AGGREGATING_STAGES:
            _error(
                result,
                call,
                f"aggregate {name}() is allowed only in 'comp' or "
                f"'windowcomp', not in '{stage.name}'",
            )
            return
    elif name in WINDOW_FUNCTIONS:
        arity = WINDOW_FUNCTIONS[name]
        if stage.name != "windowcomp":
            _error(
                result,
                call,
                f"window function {name}() is allowed only in 'windowcomp'",
            )
            return
    else:
        close = difflib.get_close_matches(name, KNOWN_CALLABLES, n=1)
        hint = f"; did you mean {close[0]}()?" if close else ""
        _error(result, call, f"unknown function {name}(){hint}")
        return
    fewest, most = arity
    count = len(call.args)
    if count < fewest or (most is not None and count > most):
        wanted = (
            str(fewest)
            if fewest == most
            else (f"at least {fewest}" if most is None else f"{fewest} to {most}")
        )
        _error(result, call, f"{name}() takes {wanted} argument(s), got {count}")


def _check_fields(pipeline: Pipeline, result: Validation, default: str | None) -> None:
    """Warn about fields that ``xdr_data`` does not have and no stage created."""
    sources = [
        name for s in pipeline.stages for name in s.datasets if s.name in SOURCE_STAGES
    ]
    if not sources:
        sources = [default or DEFAULT_DATASET]
    if not all(source.lower() in XDR_FIELD_SOURCES for source in sources):
        return
    defined: set[str] = set()
    aliases: set[str] = set()
    warned: set[str] = set()

    def check(name: str, node: Stage | Expr | FieldItem) -> None:
        root = name.split(".", 1)[0]
        if (
            name in XDR_DATA_FIELDS
            or name in defined
            or name.endswith("*")
            or root in aliases
            or root.upper() == "ENUM"
            or name in ENUM_VALUES
            or name in warned
        ):
            return
        warned.add(name)
        _warn(result, node, f"unknown field '{name}' for dataset {sources[0]}")

    for stage in pipeline.stages:
        for expr in _stage_exprs(stage):
            if stage.name == "join" and expr is stage.options.get("type"):
                continue
            if stage.name == "config":
                continue
            for node in walk(expr):
                if isinstance(node, FieldRef):
                    check(node.name, node)
        if stage.name in (
            "fields",
            "sort",
            "dedup",
            "getrole",
            "iploc",
            "bin",
            "arrayexpand",
            "top",
            "transaction",
            "comp",
        ):
            for item in stage.items + stage.by:
                if stage.name == "iploc" and item.alias and item is not stage.items[0]:
                    continue
                check(item.name, item)
        defined.update(_defined_by(stage))
        if stage.alias and stage.name == "join":
            aliases.add(stage.alias)
        if stage.subquery is not None:
            for sub in stage.subquery.stages:
                defined.update(_defined_by(sub))


def _defined_by(stage: Stage) -> Iterator[str]:
    """Yield the field names a stage creates."""
    for assign in stage.assigns:
        if assign.target:
            yield assign.target
    for item in stage.items:
        if item.alias:
            yield item.alias
        if stage.name == "fields":
            yield item.name
    if stage.alias:
        yield stage.alias
    for value in stage.options.values():
        if stage.name == "top" and isinstance(value, Literal):
            yield str(value.value)
