"""Parse XQL into a syntax tree: pipelines, stages and expressions.

The parser is a recursive-descent reader over the tokens of :mod:`lexer`. It stops
at the first error with the line and column of the offending token and a reason a
person can act on. Stage-specific grammar lives in :mod:`appliance.xql.stages`.
"""

from __future__ import annotations

import difflib

from appliance.xql.ast import (
    Binary,
    Call,
    Expr,
    FieldItem,
    FieldRef,
    InList,
    JsonPath,
    Literal,
    Pipeline,
    Placeholder,
    Query,
    Stage,
    Unary,
)
from appliance.xql.errors import XqlSyntaxError
from appliance.xql.lexer import Kind, Token, decode_string, tokenize

COMPARISONS = ("=", "!=", ">", "<", ">=", "<=", "~=")
WORD_OPERATORS = ("contains", "incidr", "incidr6", "incidrlist")
RESERVED = frozenset({"and", "or", "not", "in", *WORD_OPERATORS})


class Parser:
    """Reads one query's tokens; call :meth:`parse_query` once."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    # -- cursor -----------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        """Return the token ``ahead`` places after the current one."""
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        """Consume and return the current token."""
        token = self.peek()
        if token.kind is not Kind.EOF:
            self.pos += 1
        return token

    def fail(self, token: Token, reason: str) -> XqlSyntaxError:
        """Return a syntax error at ``token``."""
        return XqlSyntaxError(reason, line=token.line, column=token.column)

    def expect_op(self, op: str, context: str) -> Token:
        """Consume the operator ``op`` or fail, naming what was being read."""
        token = self.peek()
        if not token.is_op(op):
            raise self.fail(
                token, f"expected '{op}' {context}, found {token.describe()}"
            )
        return self.advance()

    def expect_word(self, word: str, context: str) -> Token:
        """Consume the keyword ``word`` or fail."""
        token = self.peek()
        if not token.is_word(word):
            raise self.fail(
                token, f"expected '{word}' {context}, found {token.describe()}"
            )
        return self.advance()

    def accept_op(self, op: str) -> bool:
        """Consume the operator ``op`` if it is next; return whether it was."""
        if self.peek().is_op(op):
            self.advance()
            return True
        return False

    def accept_word(self, *words: str) -> str | None:
        """Consume one of the keywords ``words`` if it is next; return it."""
        token = self.peek()
        if token.is_word(*words):
            self.advance()
            return token.text.lower()
        return None

    # -- query structure --------------------------------------------------------

    def parse_query(self) -> Query:
        """Parse the whole text: an optional header and ``;``-separated pipelines."""
        header = self._header() if self.peek().is_op("[") else {}
        pipelines = [self.parse_pipeline(nested=False)]
        while self.accept_op(";"):
            if self.peek().kind is Kind.EOF:
                break
            pipelines.append(self.parse_pipeline(nested=False))
        token = self.peek()
        if token.kind is not Kind.EOF:
            raise self.fail(token, f"unexpected {token.describe()} after the query")

        return Query(pipelines=pipelines, header=header)

    def _header(self) -> dict[str, str]:
        """Parse a modeling-rule header such as ``[MODEL: dataset=name]``."""
        self.expect_op("[", "to open the header")
        kind = self.field_name("as the header kind")
        self.expect_op(":", f"after '{kind}'")
        header = {"kind": kind}
        while not self.peek().is_op("]"):
            key = self.field_name("as a header key")
            self.expect_op("=", f"after header key '{key}'")
            value = self.advance()
            if value.kind not in (Kind.IDENT, Kind.STRING, Kind.BACKTICK, Kind.NUMBER):
                raise self.fail(value, f"expected a value for '{key}'")
            text = value.text
            header[key] = decode_string(text) if value.kind is Kind.STRING else text
            if not self.accept_op(","):
                break
        self.expect_op("]", "to close the header")

        return header

    def parse_pipeline(self, *, nested: bool) -> Pipeline:
        """Parse stages joined by ``|`` up to ``;``, ``)`` (when nested) or the end."""
        from appliance.xql.stages import parse_stage

        stages = [parse_stage(self)]
        while True:
            token = self.peek()
            if token.is_op("|"):
                self.advance()
                stages.append(parse_stage(self))
                continue
            if token.kind is Kind.EOF or token.is_op(";"):
                break
            if nested and token.is_op(")"):
                break
            raise self._stage_end_error(token, stages[-1])

        return Pipeline(stages=stages)

    def _stage_end_error(self, token: Token, stage: Stage) -> XqlSyntaxError:
        """Return the error for a token that cannot continue ``stage``."""
        from appliance.xql.catalogue import STAGES

        if token.kind is Kind.IDENT and token.text.lower() in STAGES:
            reason = (
                f"expected '|' before the stage '{token.text}' "
                f"(the '{stage.name}' stage ends here)"
            )
        elif token.is_op(")"):
            reason = "unbalanced parenthesis: ')' closes nothing"
        elif token.kind is Kind.IDENT:
            reason = (
                f"unexpected {token.describe()} in the '{stage.name}' stage: "
                "not an operator, keyword or '|'"
            )
        else:
            reason = f"unexpected {token.describe()} in the '{stage.name}' stage"
        return self.fail(token, reason)

    def stage_name(self) -> Token:
        """Consume and return the identifier that names a stage."""
        from appliance.xql.catalogue import STAGES

        token = self.peek()
        if token.kind is not Kind.IDENT:
            raise self.fail(token, f"expected a stage name, found {token.describe()}")
        if token.text.lower() not in STAGES:
            close = difflib.get_close_matches(token.text.lower(), STAGES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise self.fail(token, f"unknown stage '{token.text}'{hint}")
        return self.advance()

    # -- names ------------------------------------------------------------------

    def field_name(self, context: str, *, wildcard: bool = False) -> str:
        """Consume a possibly dotted field name (or a backtick-quoted one)."""
        token = self.peek()
        if token.kind is Kind.BACKTICK:
            self.advance()
            return token.text[1:-1]
        if wildcard and token.is_op("*"):
            self.advance()
            return "*"
        if token.kind is not Kind.IDENT or token.text.lower() in RESERVED:
            raise self.fail(
                token, f"expected a field name {context}, found {token.describe()}"
            )
        self.advance()
        parts = [token.text]
        while self.peek().is_op(".") and self.peek(1).kind is Kind.IDENT:
            self.advance()
            parts.append(self.advance().text)
        name = ".".join(parts)
        star = self.peek()
        if wildcard and star.is_op("*") and star.offset == token.offset + len(name):
            self.advance()
            name += "*"

        return name

    def field_item(self, context: str) -> FieldItem:
        """Consume a field name and return it as a :class:`FieldItem`."""
        token = self.peek()
        name = self.field_name(context)
        return FieldItem(token.line, token.column, name)

    def field_list(self, context: str) -> list[FieldItem]:
        """Consume ``field (, field)*``."""
        items = [self.field_item(context)]
        while self.accept_op(","):
            items.append(self.field_item(context))
        return items

    # -- expressions ------------------------------------------------------------

    def expression(self) -> Expr:
        """Parse an expression: ``or`` binds loosest."""
        left = self._and()
        while self.peek().is_word("or"):
            token = self.advance()
            left = Binary(token.line, token.column, "or", left, self._and())
        return left

    def expression_no_and(self) -> Expr:
        """Parse a comparison or simpler, leaving ``and``/``or`` to the caller."""
        return self._comparison()

    def option_value(self) -> Expr:
        """Parse the value of a ``key = value`` stage option: a word or a literal."""
        token = self.peek()
        if token.kind is Kind.IDENT and token.text.lower() not in RESERVED:
            if token.text.lower() in ("true", "false", "null"):
                return self._primary()
            name = self.field_name("")
            return FieldRef(token.line, token.column, name)
        return self._unary()

    def _and(self) -> Expr:
        left = self._not()
        while True:
            token = self.peek()
            if token.is_word("and"):
                self.advance()
                left = Binary(token.line, token.column, "and", left, self._not())
            elif token.kind is Kind.PLACEHOLDER:
                # A template placeholder that stands for a whole clause.
                self.advance()
                fragment = Placeholder(token.line, token.column, token.text[1:-1])
                left = Binary(token.line, token.column, "template", left, fragment)
            else:
                return left

    def _not(self) -> Expr:
        token = self.peek()
        if token.is_word("not") and not self.peek(1).is_word("in", *WORD_OPERATORS):
            self.advance()
            return Unary(token.line, token.column, "not", self._not())
        return self._comparison()

    def _comparison(self) -> Expr:
        left = self._additive()
        token = self.peek()
        if token.kind is Kind.OP and token.text in COMPARISONS:
            self.advance()
            return Binary(token.line, token.column, token.text, left, self._additive())
        negated = False
        if token.is_word("not") and self.peek(1).is_word("in", *WORD_OPERATORS):
            self.advance()
            negated = True
        word = self.accept_word("in", *WORD_OPERATORS)
        if word is None:
            return left
        if word == "in":
            return self._in_list(token, left, negated)
        op = f"not {word}" if negated else word
        return Binary(token.line, token.column, op, left, self._additive())

    def _in_list(self, token: Token, left: Expr, negated: bool) -> Expr:
        self.expect_op("(", "to open the list after 'in'")
        items: list[Expr] = []
        if not self.peek().is_op(")"):
            items.append(self.expression())
            while self.accept_op(","):
                items.append(self.expression())
        self.close_paren(token, "the list after 'in'")

        return InList(token.line, token.column, left, tuple(items), negated)

    def close_paren(self, opening: Token, what: str) -> None:
        """Consume ``)`` or fail with an unbalanced-parenthesis error."""
        token = self.peek()
        if token.is_op(")"):
            self.advance()
            return
        raise self.fail(
            token,
            f"unbalanced parenthesis: expected ')' to close {what} opened at line "
            f"{opening.line}, column {opening.column}, found {token.describe()}",
        )

    def _additive(self) -> Expr:
        left = self._multiplicative()
        while self.peek().is_op("+", "-"):
            token = self.advance()
            right = self._multiplicative()
            left = Binary(token.line, token.column, token.text, left, right)
        return left

    def _multiplicative(self) -> Expr:
        left = self._unary()
        while self.peek().is_op("*", "/"):
            token = self.advance()
            left = Binary(token.line, token.column, token.text, left, self._unary())
        return left

    def _unary(self) -> Expr:
        token = self.peek()
        if token.is_op("-"):
            self.advance()
            return Unary(token.line, token.column, "-", self._unary())
        return self._postfix()

    def _postfix(self) -> Expr:
        expr = self._primary()
        while self.peek().is_op("->"):
            token = self.advance()
            expr = JsonPath(token.line, token.column, expr, self._json_path(token))
        return expr

    def _json_path(self, arrow: Token) -> str:
        """Consume the path after ``->``: ``a.b``, ``[0].c``, ``["x.y"]``, ``[]``."""
        parts: list[str] = []
        while True:
            token = self.peek()
            if token.kind is Kind.IDENT and (not parts or parts[-1] == "."):
                parts.append(self.advance().text)
            elif token.is_op(".") and parts and self.peek(1).kind is Kind.IDENT:
                parts.append(self.advance().text)
            elif token.is_op("["):
                self.advance()
                inner = self.peek()
                if inner.kind in (Kind.NUMBER, Kind.STRING):
                    parts.append(f"[{self.advance().text}]")
                else:
                    parts.append("[]")
                self.expect_op("]", "to close the JSON path index")
            else:
                break
        if not parts:
            raise self.fail(self.peek(), "expected a JSON path after '->'")
        _ = arrow

        return "".join(parts)

    def _primary(self) -> Expr:
        token = self.peek()
        if token.kind is Kind.STRING:
            self.advance()
            value = decode_string(token.text)
            return Literal(token.line, token.column, value, "string")
        if token.kind is Kind.NUMBER:
            self.advance()
            return Literal(token.line, token.column, float(token.text), "number")
        if token.kind is Kind.DURATION:
            self.advance()
            return Literal(token.line, token.column, token.text, "duration")
        if token.kind is Kind.BACKTICK:
            self.advance()
            return Literal(token.line, token.column, token.text[1:-1], "backtick")
        if token.kind is Kind.PLACEHOLDER:
            self.advance()
            return Placeholder(token.line, token.column, token.text[1:-1])
        if token.is_op("("):
            self.advance()
            inner = self.expression()
            self.close_paren(token, "the parenthesis")
            return inner
        if token.kind is Kind.IDENT and token.text.lower() not in RESERVED:
            return self._name_or_call(token)
        if token.is_word(*WORD_OPERATORS) and self.peek(1).is_op("("):
            return self._name_or_call(token)  # incidr(ip, "10.0.0.0/8")
        raise self.fail(
            token, f"expected a value, field or function, found {token.describe()}"
        )

    def _name_or_call(self, token: Token) -> Expr:
        lower = token.text.lower()
        if lower in ("true", "false") and not self.peek(1).is_op("(", "."):
            self.advance()
            return Literal(token.line, token.column, lower == "true", "bool")
        if lower == "null" and not self.peek(1).is_op("(", "."):
            self.advance()
            return Literal(token.line, token.column, None, "null")
        if self.peek(1).is_op("("):
            self.advance()
            opening = self.advance()
            args: list[Expr] = []
            if not self.peek().is_op(")"):
                args.append(self.expression())
                while self.accept_op(","):
                    args.append(self.expression())
            self.close_paren(opening, f"the arguments of {token.text}()")
            return Call(token.line, token.column, lower, tuple(args))
        name = self.field_name("")

        return FieldRef(token.line, token.column, name)


def parse(text: str) -> Query:
    """Return the syntax tree of ``text``.

    Raises:
        XqlSyntaxError: at the first token that is not valid XQL.
    """
    return Parser(text).parse_query()
