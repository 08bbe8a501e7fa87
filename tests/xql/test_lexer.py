import pytest

from appliance.xql.errors import XqlSyntaxError
from appliance.xql.lexer import Kind, decode_string, tokenize


def test_tokens_carry_line_and_column_and_skip_comments():
    tokens = tokenize("dataset = xdr_data // note\n/* a\nb */ | filter x >= 7d")

    seen = [(t.kind, t.text, t.line, t.column) for t in tokens]

    assert seen == [
        (Kind.IDENT, "dataset", 1, 1),
        (Kind.OP, "=", 1, 9),
        (Kind.IDENT, "xdr_data", 1, 11),
        (Kind.OP, "|", 3, 6),
        (Kind.IDENT, "filter", 3, 8),
        (Kind.IDENT, "x", 3, 15),
        (Kind.OP, ">=", 3, 17),
        (Kind.DURATION, "7d", 3, 20),
        (Kind.EOF, "", 3, 22),
    ]


def test_strings_backticks_and_placeholders_are_single_tokens():
    tokens = tokenize('"a \\" b" `true` {endpoint_ids} 1.5')

    assert [t.kind for t in tokens[:-1]] == [
        Kind.STRING,
        Kind.BACKTICK,
        Kind.PLACEHOLDER,
        Kind.NUMBER,
    ]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"plain"', "plain"),
        ('"say \\"hi\\""', 'say "hi"'),
        ('"C:\\\\Temp"', "C:\\Temp"),
        ('"\\d{1,3}"', "\\d{1,3}"),
    ],
)
def test_decode_string(literal, value):
    assert decode_string(literal) == value


@pytest.mark.parametrize(
    ("text", "column"),
    [("x = 'open", 5), ("x == 1", 3), ("x = #", 5), ("x = {", 5), ("a ` b", 3)],
)
def test_lexical_errors_say_where(text, column):
    with pytest.raises(XqlSyntaxError) as caught:
        tokenize(text)

    assert (caught.value.line, caught.value.column) == (1, column)
