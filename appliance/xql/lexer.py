"""Split XQL text into tokens that carry their line and column.

Comments (``// …`` to the end of the line and ``/* … */``) and whitespace are
dropped. String literals keep their backslash escapes as written; the parser
decodes them. Template placeholders such as ``{endpoint_ids}``, used by query
templates before they are filled in, are tokens of their own.
"""

from __future__ import annotations

import bisect
import enum
import re
from dataclasses import dataclass

from appliance.xql.errors import XqlSyntaxError


class Kind(enum.Enum):
    """What a token is."""

    IDENT = "identifier"
    NUMBER = "number"
    DURATION = "duration"
    STRING = "string"
    BACKTICK = "backtick literal"
    PLACEHOLDER = "template placeholder"
    OP = "operator"
    EOF = "end of query"


@dataclass(frozen=True)
class Token:
    """One token, where it starts (1-based line and column) and its offset."""

    kind: Kind
    text: str
    line: int
    column: int
    offset: int

    def is_op(self, *ops: str) -> bool:
        """Return whether this is one of the operators ``ops``."""
        return self.kind is Kind.OP and self.text in ops

    def is_word(self, *words: str) -> bool:
        """Return whether this is an identifier spelled as one of ``words``."""
        return self.kind is Kind.IDENT and self.text.lower() in words

    def describe(self) -> str:
        """Return the token as an error message names it."""
        if self.kind is Kind.EOF:
            return "end of query"
        return f"'{self.text}'"


# Longest operators first, so that ">=" is not read as ">" then "=".
OPERATORS = (
    "->",
    "!=",
    ">=",
    "<=",
    "~=",
    "|",
    "=",
    ">",
    "<",
    ",",
    "(",
    ")",
    "[",
    "]",
    ".",
    "+",
    "-",
    "*",
    "/",
    ";",
    ":",
)

# Spellings that look like operators but are not XQL, with the fix to suggest.
MISSPELLED_OPERATORS = {
    "==": "use '=' to compare",
    "<>": "use '!=' for not equal",
    "=~": "use '~=' for a regular expression match",
    "!~": "XQL has no '!~'; use 'not (field ~= \"…\")'",
    "=<": "use '<='",
    "=>": "use '>='",
    "&&": "use 'and'",
    "||": "use 'or'",
    "!": "use 'not' or '!='",
    "~": "use '~=' for a regular expression match",
}

_IDENT = re.compile(r"[A-Za-z_@][A-Za-z0-9_@$]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DURATION = re.compile(r"(\d+)(mo|ms|[smhdwy])(?![A-Za-z0-9_])")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _Scanner:
    """Walks the text once, tracking line and column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(self, offset: int) -> tuple[int, int]:
        """Return the line and column of ``offset``."""
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def fail(self, offset: int, reason: str) -> XqlSyntaxError:
        """Return a syntax error located at ``offset``."""
        line, column = self.where(offset)
        return XqlSyntaxError(reason, line=line, column=column)

    def token(self, kind: Kind, start: int, end: int) -> Token:
        """Return a token spanning ``start:end`` and move past it."""
        line, column = self.where(start)
        self.pos = end
        return Token(kind, self.text[start:end], line, column, start)


def tokenize(text: str) -> list[Token]:
    """Return the tokens of ``text``, ending with an EOF token.

    Raises:
        XqlSyntaxError: on an unterminated string or comment, or a character that
            XQL does not use.
    """
    scan = _Scanner(text)
    tokens: list[Token] = []
    while True:
        token = _next_token(scan)
        tokens.append(token)
        if token.kind is Kind.EOF:
            return tokens


def _next_token(scan: _Scanner) -> Token:
    """Return the next token, skipping whitespace and comments."""
    text = scan.text
    while True:
        space = _SPACE.match(text, scan.pos)
        if space:
            scan.pos = space.end()
        if text.startswith("//", scan.pos):
            end = text.find("\n", scan.pos)
            scan.pos = len(text) if end < 0 else end
            continue
        if text.startswith("/*", scan.pos):
            end = text.find("*/", scan.pos + 2)
            if end < 0:
                raise scan.fail(scan.pos, "unterminated comment: '/*' without '*/'")
            scan.pos = end + 2
            continue
        break

    start = scan.pos
    if start >= len(text):
        return scan.token(Kind.EOF, start, start)
    char = text[start]
    if char in "\"'":
        return scan.token(Kind.STRING, start, _string_end(scan, start, char))
    if char == "`":
        end = text.find("`", start + 1)
        if end < 0:
            raise scan.fail(start, "unterminated backtick literal")
        return scan.token(Kind.BACKTICK, start, end + 1)
    if char == "{":
        placeholder = _PLACEHOLDER.match(text, start)
        if placeholder is None:
            raise scan.fail(start, "'{' starts no template placeholder like {name}")
        return scan.token(Kind.PLACEHOLDER, start, placeholder.end())
    if char.isdigit():
        duration = _DURATION.match(text, start)
        if duration:
            return scan.token(Kind.DURATION, start, duration.end())
        number = _NUMBER.match(text, start)
        assert number is not None
        return scan.token(Kind.NUMBER, start, number.end())
    ident = _IDENT.match(text, start)
    if ident:
        return scan.token(Kind.IDENT, start, ident.end())
    for wrong, fix in MISSPELLED_OPERATORS.items():
        if text.startswith(wrong, start) and not _is_real_operator(text, start):
            raise scan.fail(start, f"unknown operator '{wrong}': {fix}")
    for op in OPERATORS:
        if text.startswith(op, start):
            return scan.token(Kind.OP, start, start + len(op))
    raise scan.fail(start, f"unexpected character {char!r}")


def _is_real_operator(text: str, start: int) -> bool:
    """Return whether a real operator starts here despite a misspelling's prefix."""
    return any(text.startswith(op, start) for op in ("!=", "~=", "<=", ">="))


def _string_end(scan: _Scanner, start: int, quote: str) -> int:
    """Return the offset just past the string literal that starts at ``start``."""
    text = scan.text
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == quote:
            return pos + 1
        pos += 1
    raise scan.fail(start, f"unterminated string: {quote} without a closing {quote}")


def decode_string(literal: str) -> str:
    r"""Return the value of a string literal, its quotes removed and escapes undone.

    ``\"`` and ``\\`` become ``"`` and ``\``; any other escape is kept as
    written, because XQL passes it through to regular expressions (``"\d"``).
    """
    body = literal[1:-1]
    out: list[str] = []
    pos = 0
    while pos < len(body):
        char = body[pos]
        if char == "\\" and pos + 1 < len(body):
            nxt = body[pos + 1]
            out.append(nxt if nxt in "\"'\\" else char + nxt)
            pos += 2
            continue
        out.append(char)
        pos += 1

    return "".join(out)
