import json
import random
from collections.abc import Iterator

import pytest

from appliance.xql.lexer import Kind, Token, tokenize
from appliance.xql.validator import validate
from tests.conftest import SHARED

CORPUS = SHARED / "data" / "xql" / "xql_reference.jsonl"
# Rejected on purpose: its `replace(…, "\\"", "")` closes the string after the
# escaped backslash and leaves a stray quote, so the rest of the rule is misread.
KNOWN_INVALID = {"xql-b07884fe02f3"}


def _corpus() -> list[dict[str, object]]:
    with CORPUS.open() as lines:
        return [json.loads(line) for line in lines]


def _valid_queries() -> list[str]:
    return [str(r["xql_query"]) for r in _corpus() if r["id"] not in KNOWN_INVALID]


def _replace(query: str, token: Token, text: str) -> str:
    return query[: token.offset] + text + query[token.offset + len(token.text) :]


def test_accepts_at_least_98_percent_of_the_reference_corpus():
    records = _corpus()
    rejected = {str(r["id"]): validate(str(r["xql_query"])) for r in records}
    rejected = {key: v for key, v in rejected.items() if not v.valid}

    accepted = len(records) - len(rejected)
    assert accepted / len(records) >= 0.98
    assert (accepted, len(records)) == (91, 92)
    assert set(rejected) == KNOWN_INVALID


def test_the_known_invalid_rule_is_rejected_with_a_position():
    record = next(r for r in _corpus() if r["id"] in KNOWN_INVALID)

    error = validate(str(record["xql_query"])).errors[0]

    assert (error.line, error.column) == (88, 36)


def _pipes(query: str) -> Iterator[tuple[Token, Token]]:
    tokens = tokenize(query)
    for token, after in zip(tokens, tokens[1:], strict=False):
        if token.is_op("|"):
            yield token, after


def test_every_dropped_pipe_is_rejected_at_the_stage_that_lost_it():
    checked = 0
    for query in _valid_queries():
        for pipe, after in _pipes(query):
            result = validate(_replace(query, pipe, " "))

            assert not result.valid, query[pipe.offset - 40 : pipe.offset + 40]
            error = result.errors[0]
            assert (error.line, error.column) == (after.line, after.column)
            assert "expected '|'" in error.reason
            checked += 1
    assert checked > 900


def test_an_unknown_stage_is_rejected_with_a_suggestion():
    rng = random.Random(8)
    checked = 0
    for query in _valid_queries():
        stages = [after for _, after in _pipes(query) if after.kind is Kind.IDENT]
        for stage in rng.sample(stages, min(3, len(stages))):
            misspelled = stage.text[:-1] + "x" + stage.text[-1]
            result = validate(_replace(query, stage, misspelled))

            error = result.errors[0]
            assert f"unknown stage '{misspelled}'" in error.reason
            assert f"did you mean '{stage.text.lower()}'" in error.reason
            assert (error.line, error.column) == (stage.line, stage.column)
            checked += 1
    assert checked > 150


@pytest.mark.parametrize("paren", ["(", ")"])
def test_an_unbalanced_parenthesis_is_rejected(paren):
    rng = random.Random(paren)
    checked = 0
    for query in _valid_queries():
        parens = [t for t in tokenize(query) if t.is_op(paren)]
        for token in rng.sample(parens, min(4, len(parens))):
            result = validate(_replace(query, token, " "))

            assert not result.valid, query[token.offset - 40 : token.offset + 40]
            error = result.errors[0]
            assert error.line >= 1
            assert error.column >= 1
            checked += 1
    assert checked > 200


def test_a_dropped_closing_parenthesis_names_the_one_left_open():
    query = 'dataset = xdr_data | filter lowercase(agent_hostname = "ws-01"'

    error = validate(query).errors[0]

    assert "unbalanced parenthesis" in error.reason
    assert "opened at line 1, column 38" in error.reason
    assert (error.line, error.column) == (1, len(query) + 1)


MISSPELLINGS = {
    "=": "==",
    "!=": "<>",
    "~=": "=~",
    ">=": "=>",
    "<=": "=<",
    "and": "adn",
    "or": "orr",
    "contains": "contians",
    "in": "inn",
}


def test_a_misspelled_operator_is_rejected_where_it_is():
    rng = random.Random(3)
    checked = 0
    for query in _valid_queries():
        tokens = tokenize(query)
        operators = [
            (t, n)
            for t, n in zip(tokens, tokens[1:], strict=False)
            if t.text in MISSPELLINGS and (t.kind is Kind.OP or t.kind is Kind.IDENT)
        ]
        for token, after in rng.sample(operators, min(4, len(operators))):
            wrong = MISSPELLINGS[token.text]
            result = validate(_replace(query, token, wrong))

            assert not result.valid, query[token.offset - 40 : token.offset + 40]
            error = result.errors[0]
            # A misspelled symbol is caught where it is; a misspelled word is read
            # as a field name and caught at the token after it.
            assert (error.line, error.column) in {
                (token.line, token.column),
                (after.line, after.column + len(wrong) - len(token.text)),
                (after.line, after.column),
            }
            checked += 1
    assert checked > 250


@pytest.mark.parametrize(
    ("query", "position", "reason"),
    [
        ("dataset = xdr_data | filter x == 1", (1, 31), "unknown operator '=='"),
        ("dataset = xdr_data | filtr x = 1", (1, 22), "did you mean 'filter'"),
        ('dataset = xdr_data | filter x = "open', (1, 33), "unterminated string"),
        ("dataset = xdr_data /* note", (1, 20), "unterminated comment"),
        (
            "dataset = xdr_data | alter y = lowercas(x)",
            (1, 32),
            "did you mean lowercase",
        ),
        ("dataset = xdr_data | alter y = concat()", (1, 32), "at least 1"),
        ("dataset = xdr_data | alter n = count()", (1, 32), "only in 'comp'"),
        ("dataset = xdr_data | comp lowercase(x) as y", (1, 27), "aggregate"),
        ("dataset = xdr_data | limit 0", (1, 28), "positive whole number"),
        ("dataset = xdr_data | limit x", (1, 28), "expected a number"),
        ("filter x = 1 | dataset = xdr_data", (1, 16), "must be the first stage"),
        ("dataset = xdr_data | config case_sensitive = false", (1, 22), "before"),
        ("config timeout = 5 | dataset = xdr_data", (1, 8), "unknown config"),
        (
            "dataset = xdr_data | join type = sideways (dataset = a) as b b.x = y",
            (1, 34),
            "unknown join type",
        ),
        ("dataset = xdr_data | sort", (1, 26), "expected a field name"),
        ("dataset = xdr_data | view pie", (1, 27), "'graph', 'highlight'"),
        ("dataset = xdr_data\n| filter a = 1)\n", (2, 15), "closes nothing"),
        ("dataset = xdr_data | filter agent_hostname = 'a' &&", (1, 50), "use 'and'"),
    ],
)
def test_errors_carry_line_column_and_reason(query, position, reason):
    result = validate(query)

    assert not result.valid
    error = result.errors[0]
    assert (error.line, error.column) == position
    assert reason in error.reason
    assert str(error).startswith(f"line {position[0]}, column {position[1]}: ")


@pytest.mark.parametrize(
    "query",
    [
        "dataset = xdr_data | filter event_type = ENUM.PROCESS | limit 10",
        'preset = xdr_process | filter action_process_image_name ~= "(?i)psexec"',
        "dataset in (xdr_data, cloud_audit_logs) | limit 5",
        "config case_sensitive = false | config timeframe = 7d | dataset = xdr_data",
        'config timeframe between "2024-01-01 00:00:00" and "now" | dataset = xdr_data',
        'dataset = xdr_data | filter action_remote_ip incidr "10.0.0.0/8"',
        'dataset = xdr_data | filter action_remote_ip not incidr "10.0.0.0/8"',
        'dataset = xdr_data | filter not (agent_hostname contains "dc")',
        "dataset = xdr_data | filter action_file_size > 1024 * 1024 and x != null",
        "dataset = xdr_data | comp count() as n, values(agent_id) as ids by agent_id",
        "dataset = xdr_data | bin _time span = 1h | comp count() as n by _time",
        "dataset = xdr_data | arrayexpand agent_ip_addresses limit 5",
        "dataset = xdr_data | windowcomp count() by agent_id sort desc _time as n",
        "dataset = xdr_data | iploc action_remote_ip loc_country as country",
        "dataset = xdr_data | union (dataset = cloud_audit_logs | fields _time)",
        "dataset = xdr_data | union panw_ngfw_traffic_raw",
        "dataset = xdr_data | top 5 actor_process_image_name by agent_hostname",
        "dataset = xdr_data | transaction agent_id span = 1h",
        "dataset = xdr_data | dedup agent_id by desc _time | sort asc agent_hostname",
        "dataset = xdr_data | fields - agent_id | getrole actor_effective_username",
        'dataset = xdr_data | tag add "hunt" | target type = dataset my_hunt',
        'dataset = xdr_data | call "Saved hunt" | replacenull agent_id = "-"',
        'dataset = xdr_data | view highlight fields = agent_id values = "x"',
        "// leading comment\ndataset = xdr_data /* inline */ | limit 1;",
    ],
)
def test_accepts_the_documented_stage_forms(query):
    result = validate(query)

    assert result.errors == []


def test_warns_on_unknown_xdr_data_fields_only():
    result = validate(
        "dataset = xdr_data | alter made = 1 "
        '| filter agent_hostnme = "a" and made = 1 and agent_hostname = "b"'
    )

    assert result.valid
    assert [w.reason for w in result.warnings] == [
        "unknown field 'agent_hostnme' for dataset xdr_data"
    ]
    assert (result.warnings[0].line, result.warnings[0].column) == (1, 46)


def test_no_field_warnings_for_other_datasets():
    result = validate("dataset = okta_sso_raw | filter whatever = 1")

    assert result.valid
    assert result.warnings == []


def test_cidr_operators_also_work_as_functions():
    result = validate(
        'dataset = xdr_data | filter incidr(action_remote_ip, "10.0.0.0/8") = false'
    )

    assert result.errors == []


def test_the_corpus_xdr_data_queries_use_only_known_fields():
    for record in _corpus():
        if record["datasets"] != ["xdr_data"]:
            continue
        result = validate(str(record["xql_query"]))

        unknown = [w for w in result.warnings if "unknown field" in w.reason]
        assert unknown == [], record["id"]
