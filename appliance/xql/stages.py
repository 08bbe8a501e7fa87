"""The grammar of each XQL stage, one reader per stage keyword."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.xql.ast import Assign, Expr, FieldItem, Literal, Stage
from appliance.xql.catalogue import (
    CONFIG_KEYS,
    IPLOC_ATTRIBUTES,
    JOIN_OPTIONS,
    STAGES,
)
from appliance.xql.lexer import Kind, Token

if TYPE_CHECKING:
    from appliance.xql.parser import Parser

StageReader = Callable[["Parser", Stage], None]


def parse_stage(parser: Parser) -> Stage:
    """Parse one stage, starting at its keyword."""
    token = parser.stage_name()
    name = token.text.lower()
    stage = Stage(token.line, token.column, name)
    READERS[name](parser, stage)

    return stage


def _dataset(parser: Parser, stage: Stage) -> None:
    """``dataset = name`` or ``dataset in (a, b)``."""
    if parser.accept_word("in"):
        opening = parser.expect_op("(", "after 'dataset in'")
        stage.datasets.append(_dataset_name(parser))
        while parser.accept_op(","):
            stage.datasets.append(_dataset_name(parser))
        parser.close_paren(opening, "the dataset list")
        return
    parser.expect_op("=", f"after '{stage.name}'")
    stage.datasets.append(_dataset_name(parser))


def _datamodel(parser: Parser, stage: Stage) -> None:
    """``datamodel [dataset = name | dataset in (…)]``."""
    if parser.accept_word("dataset"):
        _dataset(parser, stage)


def _dataset_name(parser: Parser) -> str:
    token = parser.peek()
    if token.kind is Kind.STRING:
        parser.advance()
        return token.text[1:-1]
    return parser.field_name("as the dataset name")


def _preset(parser: Parser, stage: Stage) -> None:
    """``preset = name``."""
    parser.expect_op("=", "after 'preset'")
    stage.datasets.append(parser.field_name("as the preset name"))


def _config(parser: Parser, stage: Stage) -> None:
    """``config case_sensitive = false``, ``config timeframe = 7d`` or ``between``."""
    token = parser.peek()
    key = parser.field_name("after 'config'")
    if key.lower() not in CONFIG_KEYS:
        known = ", ".join(sorted(CONFIG_KEYS))
        raise parser.fail(token, f"unknown config '{key}'; known: {known}")
    if parser.accept_word("between"):
        stage.options[key] = parser.expression_no_and()
        parser.expect_word("and", "in 'timeframe between … and …'")
        stage.options[f"{key}_end"] = parser.expression_no_and()
        return
    parser.expect_op("=", f"after config '{key}'")
    stage.options[key.lower()] = parser.expression()


def _filter(parser: Parser, stage: Stage) -> None:
    """``filter <condition>``."""
    stage.exprs.append(parser.expression())


def _alter(parser: Parser, stage: Stage) -> None:
    """``alter a = expr, b = expr``."""
    while True:
        token = parser.peek()
        target = parser.field_name("to assign in 'alter'")
        parser.expect_op("=", f"after '{target}' in 'alter'")
        stage.assigns.append(
            Assign(token.line, token.column, target, parser.expression())
        )
        if not parser.accept_op(","):
            return


def _fields(parser: Parser, stage: Stage) -> None:
    """``fields a, b as c, x*`` or ``fields - a, b``."""
    if parser.accept_op("-"):
        stage.options["exclude"] = Literal(stage.line, stage.column, True, "bool")
    while True:
        token = parser.peek()
        name = parser.field_name("in 'fields'", wildcard=True)
        alias = None
        if parser.accept_word("as"):
            alias = parser.field_name("after 'as'")
        stage.items.append(FieldItem(token.line, token.column, name, alias))
        if not parser.accept_op(","):
            return


def _aliased(parser: Parser, stage: Stage) -> None:
    """Read ``expr [as alias]`` into ``stage.assigns``."""
    token = parser.peek()
    value = parser.expression()
    alias = ""
    if parser.accept_word("as"):
        alias = parser.field_name("after 'as'")
    stage.assigns.append(Assign(token.line, token.column, alias, value))


def _comp(parser: Parser, stage: Stage) -> None:
    """``comp count() as n, sum(x) as s by a, b [addrawdata = true as raw]``."""
    _aliased(parser, stage)
    while parser.accept_op(","):
        _aliased(parser, stage)
    if parser.accept_word("by"):
        stage.by = parser.field_list("after 'by'")
    if parser.accept_word("addrawdata"):
        parser.expect_op("=", "after 'addrawdata'")
        stage.options["addrawdata"] = parser.expression()
        if parser.accept_word("as"):
            stage.alias = parser.field_name("after 'as'")


def _sort_items(parser: Parser) -> list[FieldItem]:
    items = []
    while True:
        token = parser.peek()
        order = parser.accept_word("asc", "desc")
        name = parser.field_name("to sort by")
        order = parser.accept_word("asc", "desc") or order
        items.append(FieldItem(token.line, token.column, name, order=order))
        if not parser.accept_op(","):
            return items


def _sort(parser: Parser, stage: Stage) -> None:
    """``sort desc a, asc b`` (the order may also follow the field)."""
    stage.items = _sort_items(parser)


def _limit(parser: Parser, stage: Stage) -> None:
    """``limit N``."""
    stage.exprs.append(_number(parser, "after 'limit'"))


def _number(parser: Parser, context: str) -> Expr:
    token = parser.peek()
    if token.kind not in (Kind.NUMBER, Kind.PLACEHOLDER):
        raise parser.fail(
            token, f"expected a number {context}, found {token.describe()}"
        )
    return parser.expression()


def _dedup(parser: Parser, stage: Stage) -> None:
    """``dedup a, b [by asc|desc c]``."""
    stage.items = parser.field_list("in 'dedup'")
    if parser.accept_word("by"):
        stage.by = _sort_items(parser)


def _options(parser: Parser, stage: Stage, known: frozenset[str] | None) -> None:
    """Read ``key = value`` pairs while the next tokens look like one."""
    while parser.peek().kind is Kind.IDENT and parser.peek(1).is_op("="):
        token = parser.advance()
        key = token.text.lower()
        if known is not None and key not in known:
            listed = ", ".join(sorted(known))
            raise parser.fail(token, f"unknown option '{token.text}'; known: {listed}")
        parser.advance()
        stage.options[key] = parser.option_value()


def _join(parser: Parser, stage: Stage) -> None:
    """``join type = inner (sub-query) as alias <condition>``."""
    _options(parser, stage, JOIN_OPTIONS)
    opening = parser.expect_op("(", "to open the join sub-query")
    stage.subquery = parser.parse_pipeline(nested=True)
    parser.close_paren(opening, "the join sub-query")
    parser.expect_word("as", "after the join sub-query")
    stage.alias = parser.field_name("as the join alias")
    stage.exprs.append(parser.expression())


def _union(parser: Parser, stage: Stage) -> None:
    """``union dataset_name`` or ``union (sub-query)``."""
    token = parser.peek()
    if token.is_op("("):
        parser.advance()
        stage.subquery = parser.parse_pipeline(nested=True)
        parser.close_paren(token, "the union sub-query")
        return
    stage.datasets.append(_dataset_name(parser))


def _bin(parser: Parser, stage: Stage) -> None:
    """``bin _time span = 1h [timezone = "…"] [start_time = "…"]``."""
    stage.items.append(parser.field_item("to bin"))
    _options(parser, stage, frozenset({"span", "timezone", "start_time", "method"}))
    if "span" not in stage.options and "method" not in stage.options:
        raise parser.fail(parser.peek(), "expected 'span = <duration>' in 'bin'")


def _arrayexpand(parser: Parser, stage: Stage) -> None:
    """``arrayexpand field [limit N]``."""
    stage.items.append(parser.field_item("to expand"))
    if parser.accept_word("limit"):
        stage.exprs.append(_number(parser, "after 'limit'"))


def _windowcomp(parser: Parser, stage: Stage) -> None:
    """``windowcomp f(x) [by a] [sort desc b] [between N and M] as name``."""
    stage.exprs.append(parser.expression_no_and())
    if parser.accept_word("by"):
        stage.by = parser.field_list("after 'by'")
    if parser.accept_word("sort"):
        stage.items = _sort_items(parser)
    if parser.accept_word("between"):
        stage.options["between"] = parser.expression_no_and()
        if parser.accept_word("and"):
            stage.options["between_end"] = parser.expression_no_and()
    _options(parser, stage, frozenset({"frame_type"}))
    parser.expect_word("as", "to name the windowcomp result")
    stage.alias = parser.field_name("after 'as'")


def _iploc(parser: Parser, stage: Stage) -> None:
    """``iploc ip_field [loc_country as country, …]``."""
    stage.items.append(parser.field_item("to locate"))
    while parser.peek().kind is Kind.IDENT and not parser.peek().is_op("|"):
        token = parser.peek()
        if token.text.lower() not in IPLOC_ATTRIBUTES:
            break
        parser.advance()
        parser.expect_word("as", f"after '{token.text}'")
        alias = parser.field_name("after 'as'")
        stage.items.append(FieldItem(token.line, token.column, token.text, alias))
        parser.accept_op(",")


def _view(parser: Parser, stage: Stage) -> None:
    """``view graph …``, ``view highlight …``, ``view column order = …``.

    View settings only shape how results are drawn; their tokens are checked for
    balanced parentheses and kept as written.
    """
    first = parser.peek()
    if not first.is_word("graph", "highlight", "column"):
        raise parser.fail(
            first,
            "expected 'graph', 'highlight' or 'column' after 'view', "
            f"found {first.describe()}",
        )
    _free_form(parser)


def _free_form(parser: Parser) -> None:
    """Consume tokens to the end of the stage, keeping parentheses balanced."""
    opened: list[Token] = []
    while True:
        token = parser.peek()
        if token.kind is Kind.EOF or (not opened and token.is_op("|", ";")):
            break
        if not opened and token.is_op(")"):
            break
        if not opened and _starts_stage(parser, token):
            break
        parser.advance()
        if token.is_op("("):
            opened.append(token)
        elif token.is_op(")"):
            opened.pop()
    if opened:
        parser.close_paren(opened[-1], "the parenthesis")


def _starts_stage(parser: Parser, token: Token) -> bool:
    """Return whether ``token`` looks like the keyword of a stage missing its ``|``."""
    if token.kind is not Kind.IDENT or token.text.lower() not in STAGES:
        return False
    before = parser.tokens[parser.pos - 1]
    return not before.is_op("=", ",") and not parser.peek(1).is_op("=")


def _call(parser: Parser, stage: Stage) -> None:
    """``call "saved query" [param = value …]``."""
    token = parser.peek()
    if token.kind is Kind.STRING:
        parser.advance()
    else:
        parser.field_name("as the query to call")
    _options(parser, stage, None)


def _field_only(parser: Parser, stage: Stage) -> None:
    """Read the one field that ``getrole`` takes."""
    stage.items.append(parser.field_item(f"after '{stage.name}'"))


def _tag(parser: Parser, stage: Stage) -> None:
    """``tag add "value"[, "value"]``."""
    parser.accept_word("add", "remove")
    while True:
        token = parser.peek()
        if token.kind not in (Kind.STRING, Kind.PLACEHOLDER):
            raise parser.fail(token, f"expected a tag string, found {token.describe()}")
        stage.exprs.append(parser.expression_no_and())
        if not parser.accept_op(","):
            return


def _target(parser: Parser, stage: Stage) -> None:
    """``target type = dataset [append = true] name``."""
    _options(parser, stage, frozenset({"type", "append", "limit"}))
    stage.datasets.append(_dataset_name(parser))


def _top(parser: Parser, stage: Stage) -> None:
    """``top [N] field, … [by field, …] [top_count as a] [top_percent as b]``."""
    if parser.peek().kind is Kind.NUMBER:
        stage.exprs.append(parser.expression_no_and())
    stage.items = parser.field_list("in 'top'")
    if parser.accept_word("by"):
        stage.by = parser.field_list("after 'by'")
    while word := parser.accept_word("top_count", "top_percent"):
        parser.expect_word("as", f"after '{word}'")
        stage.options[word] = Literal(
            stage.line, stage.column, parser.field_name("after 'as'"), "string"
        )


def _transaction(parser: Parser, stage: Stage) -> None:
    """``transaction a, b [span = 1h] [maxevents = N] [startswith = …] …``."""
    stage.items = parser.field_list("in 'transaction'")
    _options(parser, stage, None)


def _replacenull(parser: Parser, stage: Stage) -> None:
    """``replacenull [field, …] [= value]``."""
    if parser.peek().kind is Kind.IDENT and not parser.peek().is_op("|"):
        stage.items = parser.field_list("in 'replacenull'")
    if parser.accept_op("="):
        stage.exprs.append(parser.expression())


READERS: dict[str, StageReader] = {
    "alter": _alter,
    "arrayexpand": _arrayexpand,
    "bin": _bin,
    "call": _call,
    "cold_dataset": _dataset,
    "comp": _comp,
    "config": _config,
    "datamodel": _datamodel,
    "dataset": _dataset,
    "dedup": _dedup,
    "fields": _fields,
    "filter": _filter,
    "getrole": _field_only,
    "iploc": _iploc,
    "join": _join,
    "limit": _limit,
    "preset": _preset,
    "replacenull": _replacenull,
    "sort": _sort,
    "tag": _tag,
    "target": _target,
    "top": _top,
    "transaction": _transaction,
    "union": _union,
    "view": _view,
    "windowcomp": _windowcomp,
}
