"""Build XQL from a structured hunt specification, safely.

A :class:`HuntSpec` names a dataset, an optional time frame, conditions on known
fields, the fields to show, aggregates, sort and limit. :func:`build` renders it
as XQL and validates the result before returning it. Field names must be known
``xdr_data`` fields (or aliases the spec itself defines); values are always
written as literals, quoted with backslashes and double quotes escaped, so an indicator
taken from an alert (a command line, a file name) cannot change the query.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appliance.errors import ValidationFailed
from appliance.xql.catalogue import ENUM_VALUES, XDR_DATA_FIELDS, XDR_FIELD_SOURCES
from appliance.xql.errors import Diagnostic
from appliance.xql.validator import validate

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DURATION = re.compile(r"^[1-9][0-9]{0,4}(mo|[mhdw])$")
ENUM_FIELDS = frozenset({"event_type", "event_sub_type"})
Scalar = str | int | float | bool | None


class Op(enum.StrEnum):
    """A comparison the builder can write."""

    EQ = "="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    REGEX = "~="
    CONTAINS = "contains"
    NOT_CONTAINS = "not contains"
    IN = "in"
    NOT_IN = "not in"
    INCIDR = "incidr"
    NOT_INCIDR = "not incidr"


class HuntSpecError(ValidationFailed):
    """A hunt specification names an unknown field or an unsafe value."""

    code = "hunt_spec_invalid"


class Condition(BaseModel):
    """``field op value``; ``in`` and ``not in`` take a list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: Op = Op.EQ
    value: Scalar | list[str | int | float]


class Aggregate(BaseModel):
    """An aggregate for ``comp``: ``count() as events``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: Literal["count", "count_distinct", "sum", "avg", "min", "max", "values"]
    field: str | None = None
    alias: str

    @model_validator(mode="after")
    def _needs_field(self) -> Aggregate:
        if self.function != "count" and self.field is None:
            raise ValueError(f"{self.function}() needs a field")
        return self


class SortKey(BaseModel):
    """A field to sort on and the direction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    order: Literal["asc", "desc"] = "desc"


class HuntSpec(BaseModel):
    """A hunt over ``xdr_data`` (or one of its presets) as structured data.

    ``conditions`` must all hold; when ``any_of`` is given, at least one of its
    conditions must hold as well.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = "xdr_data"
    timeframe: str | None = None
    case_sensitive: bool = False
    conditions: list[Condition] = Field(default_factory=list)
    any_of: list[Condition] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    aggregates: list[Aggregate] = Field(default_factory=list)
    group_by: list[str] = Field(default_factory=list)
    sort: list[SortKey] = Field(default_factory=list)
    dedup: list[str] = Field(default_factory=list)
    limit: Annotated[int, Field(ge=1, le=1_000_000)] | None = 1000

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value not in XDR_FIELD_SOURCES:
            known = ", ".join(sorted(XDR_FIELD_SOURCES))
            raise ValueError(f"unknown dataset {value!r}; known: {known}")
        return value

    @field_validator("timeframe")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not DURATION.match(value):
            raise ValueError("timeframe is a duration such as 30m, 24h, 7d or 2w")
        return value


@dataclass(frozen=True)
class HuntQuery:
    """A built query, valid XQL, with the spec it came from and any warnings."""

    xql: str
    spec: HuntSpec
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def dataset(self) -> str:
        """Return the dataset the query reads."""
        return self.spec.dataset


def quote(value: str) -> str:
    r"""Return ``value`` as an XQL string literal.

    Backslashes and double quotes are escaped (``\\`` and ``\"``); control
    characters are refused, so the literal is one line and cannot end early.

    Raises:
        HuntSpecError: if the value holds a control character other than tab.
    """
    if any(ord(char) < 32 and char != "\t" or ord(char) == 127 for char in value):
        raise HuntSpecError("a value holds a control character; remove it")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build(spec: HuntSpec) -> HuntQuery:
    """Render ``spec`` as XQL and validate it.

    Raises:
        HuntSpecError: if the spec names an unknown field or holds an unsafe
            value, or if the rendered query does not validate.
    """
    defined = {a.alias for a in spec.aggregates}
    for name in defined:
        _check_alias(name)
    for name in [
        *(c.field for c in spec.conditions + spec.any_of),
        *spec.fields,
        *(a.field for a in spec.aggregates if a.field),
        *spec.group_by,
        *spec.dedup,
    ]:
        _check_field(name, set())
    for key in spec.sort:
        _check_field(key.field, defined)

    stages = []
    if not spec.case_sensitive:
        stages.append("config case_sensitive = false")
    if spec.timeframe:
        stages.append(f"config timeframe = {spec.timeframe}")
    source = "preset" if spec.dataset != "xdr_data" else "dataset"
    stages.append(f"{source} = {spec.dataset}")
    stages.extend(f"filter {_condition(c)}" for c in spec.conditions)
    if spec.any_of:
        stages.append("filter " + " or ".join(_condition(c) for c in spec.any_of))
    if spec.dedup:
        stages.append("dedup " + ", ".join(spec.dedup))
    if spec.fields:
        stages.append("fields " + ", ".join(spec.fields))
    if spec.aggregates:
        comp = "comp " + ", ".join(_aggregate(a) for a in spec.aggregates)
        if spec.group_by:
            comp += " by " + ", ".join(spec.group_by)
        stages.append(comp)
    if spec.sort:
        stages.append("sort " + ", ".join(f"{k.order} {k.field}" for k in spec.sort))
    if spec.limit is not None:
        stages.append(f"limit {spec.limit}")
    xql = "\n| ".join(stages)

    result = validate(xql)
    if not result.valid:
        raise HuntSpecError(
            "the built query does not validate: " + str(result.errors[0]),
            details=[e.as_dict() for e in result.errors],
        )

    return HuntQuery(xql=xql, spec=spec, warnings=tuple(result.warnings))


def _check_field(name: str, defined: set[str]) -> None:
    if name in defined:
        return
    if name not in XDR_DATA_FIELDS:
        raise HuntSpecError(f"unknown xdr_data field {name!r}")


def _check_alias(name: str) -> None:
    if not NAME.match(name) or name in XDR_DATA_FIELDS:
        raise HuntSpecError(f"alias {name!r} must be a new name of letters, digits, _")


def _aggregate(aggregate: Aggregate) -> str:
    argument = aggregate.field or ""
    return f"{aggregate.function}({argument}) as {aggregate.alias}"


def _condition(condition: Condition) -> str:
    """Render one condition, its value as a literal."""
    field, op, value = condition.field, condition.op, condition.value
    if op in (Op.IN, Op.NOT_IN):
        if not isinstance(value, list) or not value:
            raise HuntSpecError(f"'{op}' on {field!r} needs a non-empty list")
        items = ", ".join(_literal(field, item) for item in value)
        return f"{field} {op} ({items})"
    if isinstance(value, list):
        raise HuntSpecError(f"'{op}' on {field!r} takes one value, not a list")
    if op in (Op.INCIDR, Op.NOT_INCIDR):
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise HuntSpecError(f"{value!r} is not a CIDR range") from None
        return f"{field} {op} {quote(str(network))}"
    if op is Op.REGEX:
        try:
            re.compile(str(value))
        except re.error:
            raise HuntSpecError(f"{value!r} is not a regular expression") from None
    if value is None and op not in (Op.EQ, Op.NE):
        raise HuntSpecError(f"'{op}' cannot compare {field!r} with null")

    return f"{field} {op} {_literal(field, value)}"


def _literal(field: str, value: Scalar) -> str:
    """Render a value as an XQL literal; enum fields take ``ENUM.<VALUE>``."""
    if field in ENUM_FIELDS:
        if not isinstance(value, str) or value.upper() not in ENUM_VALUES:
            raise HuntSpecError(f"{value!r} is not a known value of {field}")
        return f"ENUM.{value.upper()}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, "f").rstrip("0").rstrip(".") or "0"
    return quote(value)
