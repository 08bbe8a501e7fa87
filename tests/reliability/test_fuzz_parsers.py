"""Fuzz the two parsers that read outside input: the webhook and XDR's replies.

The connector webhook gets signed hostile bodies: deep nesting, huge arrays, wrong
types, NaN and Infinity literals, invalid UTF-8 and right-to-left marks. Each must be
accepted (202) or refused with a 4xx and the one JSON error body, never a 5xx.

The XDR client gets mutations of real reply fixtures (keys dropped, types swapped,
NaN, huge lists, nested junk, invalid UTF-8 in the raw bytes) as the 200 answer of
the calls it parses into models. Each must parse, or raise ``XdrBadReply``; no other
exception may escape. The fixtures hold no ``get_alerts_multi_events`` or XQL
result reply, so those two are built from fixture alerts in the sandbox's shapes.

Every property is derandomized and bounded, so a failure reproduces on the next run
and the file runs in seconds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from appliance import create_app
from appliance.api.requests import MAX_JSON_DEPTH
from appliance.config import Settings
from appliance.db.engine import Database
from appliance.xdr import calls
from appliance.xdr.client import XdrClient
from appliance.xdr.errors import XdrBadReply
from appliance.xdr.ratelimit import TenantLimiter
from tests.conftest import SHARED
from tests.fakes.webhooks import post_signed

SECRET = "fuzz-webhook-secret"
FIXTURES = SHARED / "fixtures" / "xdr"
ERROR_KEYS = {"status", "code", "message", "request_id"}

bounded = hypothesis_settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Text that looks harmless on screen and is not: direction overrides, zero-width
# characters, a byte-order mark, NUL and a lone surrogate.
TRICKY = ["\u202e", "\u200f", "\u202b", "\u2066", "\u200b", "\ufeff", "\x00", "\ud800"]
tricky_text = st.lists(
    st.sampled_from(TRICKY) | st.text(max_size=4), min_size=1, max_size=6
).map("".join)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | tricky_text
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | tricky_text, inner, max_size=4)
    ),
    max_leaves=12,
)
# Ways a byte stream stops being UTF-8: a stray continuation byte, a bad lead
# byte, an encoded surrogate, an overlong encoding, a truncated sequence.
BAD_BYTES = [b"\xff", b"\x80", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82"]


def encode(value: Any, ascii_only: bool) -> bytes:
    """Serialize like a careless sender: NaN literals, surrogates passed through."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)

    return text.encode("utf-8", "surrogatepass")


@st.composite
def corrupted(draw: st.DrawFn, raw: bytes) -> bytes:
    """Insert bytes that are not UTF-8 somewhere into ``raw``, or cut it short."""
    at = draw(st.integers(0, len(raw)))
    if draw(st.booleans()):
        return raw[:at]

    return raw[:at] + draw(st.sampled_from(BAD_BYTES)) + raw[at:]


# --- the webhook ----------------------------------------------------------------------

incident_ids = st.sampled_from(["101", "4242", "inc-1.a:b_c"]) | st.integers(0, 10**6)
webhook_values = st.fixed_dictionaries(
    {"incident_id": incident_ids | junk},
    optional={
        "modification_time": st.integers(0, 2**62) | junk,
        "event": st.text(max_size=10) | tricky_text | junk,
        "incident": junk,
        "alerts": st.lists(junk, max_size=5),
    },
)
nested_webhooks = st.fixed_dictionaries(
    {"incident": st.fixed_dictionaries({"incident_id": incident_ids | junk})},
    optional={"modification_time": junk},
)


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    """Return a body nested around the depth limit, or far past Python's stack."""
    depth = draw(
        st.integers(MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH + 2) | st.integers(500, 50_000)
    )
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * depth + "1" + closer * depth
    if draw(st.booleans()):
        return ('{"incident_id": "1", "x": ' + inner + "}").encode()

    return inner.encode()


@st.composite
def huge_arrays(draw: st.DrawFn) -> bytes:
    """Return a webhook carrying an array near or over the body limit."""
    size = draw(st.sampled_from([10_000, 60_000, 140_000]))
    item = draw(st.sampled_from(["0", '"x"', "null", "[]", "NaN"]))

    return (
        '{"incident_id": "7", "alerts": [' + ",".join([item] * size) + "]}"
    ).encode()


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """Return one hostile webhook body, as the bytes that are signed and sent."""
    kind = draw(st.sampled_from(["shape", "nested", "junk", "deep", "huge", "utf8"]))
    if kind == "deep":
        return draw(deep_nesting())
    if kind == "huge":
        return draw(huge_arrays())
    value = draw(
        {"shape": webhook_values, "nested": nested_webhooks, "junk": junk}.get(
            kind, webhook_values
        )
    )
    raw = encode(value, draw(st.booleans()))
    if kind == "utf8":
        return draw(corrupted(raw))

    return raw


@pytest.fixture
def hook(settings: Settings, db: Database) -> Iterator[FlaskClient]:
    """Return a client of the app with webhooks on and the default body limit."""
    application: Flask = create_app(replace(settings, webhook_secret=SECRET))
    application.config["TESTING"] = True
    yield application.test_client()
    application.extensions["appliance"].db.dispose()


def assert_accepted_or_refused(response: Any) -> None:
    """Check for a 202 with its job, or a 4xx with the one JSON error body."""
    where = (response.status_code, response.get_data()[:300])
    body = response.get_json(silent=True)
    assert isinstance(body, dict), where
    if response.status_code == 202:
        assert isinstance(body["job_id"], int), where
        return
    assert 400 <= response.status_code < 500, where
    assert set(body) == {"error"}, where
    error = body["error"]
    assert ERROR_KEYS <= set(error) <= ERROR_KEYS | {"details"}, where
    assert error["status"] == response.status_code, where
    assert error["code"] and error["message"] and error["request_id"], where


@bounded
@given(body=hostile_bodies())
def test_hostile_webhook_body_is_accepted_or_refused_cleanly(
    hook: FlaskClient, body: bytes
) -> None:
    response = post_signed(hook, body, SECRET)

    event(f"status {response.status_code}")
    assert_accepted_or_refused(response)


@pytest.mark.parametrize(
    "body",
    [
        b'{"incident_id": "1", "modification_time": NaN}',
        b'{"incident_id": "1", "modification_time": Infinity}',
        b'{"incident_id": "1", "modification_time": -Infinity}',
        b'{"incident_id": "1", "modification_time": 1e400}',
        b'{"incident_id": "\\u202e101"}',
        b'{"incident_id": "\xff"}',
        b'{"incident_id": "1' + b"9" * 5000 + b'"}',
        b'{"incident_id": ' + b"9" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b"",
    ],
    ids=lambda raw: raw[:24].decode("latin-1"),
)
def test_known_hostile_webhook_bodies_are_refused(
    hook: FlaskClient, body: bytes
) -> None:
    response = post_signed(hook, body, SECRET)

    assert_accepted_or_refused(response)
    assert response.status_code != 202


def test_right_to_left_marks_outside_the_id_are_accepted(hook: FlaskClient) -> None:
    body = {"incident_id": "101", "event": "\u202eupdated\u200f", "note": "\u2066x"}

    assert post_signed(hook, encode(body, ascii_only=False), SECRET).status_code == 202


# --- XDR replies ----------------------------------------------------------------------


def _reply(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["reply"]


def _alerts_multi_events() -> dict[str, Any]:
    """Return a ``get_alerts_multi_events`` reply made of fixture alerts."""
    alerts = _reply("get_extra_data_all_alerts.json")["alerts"]["data"][:3]
    for alert in alerts:
        alert["events"] = [
            {
                "event_id": f"{alert['alert_id']}-1",
                "event_timestamp": alert.get("detection_timestamp"),
                "agent_hostname": alert.get("host_name"),
                "actor_process_command_line": alert.get("actor_process_command_line"),
            }
        ]

    return {"total_count": len(alerts), "result_count": len(alerts), "alerts": alerts}


def _xql_results() -> dict[str, Any]:
    """Return a finished ``get_query_results`` reply with rows of fixture alerts."""
    alerts = _reply("get_extra_data_all_alerts.json")["alerts"]["data"]
    rows = [
        {
            "_time": alert.get("detection_timestamp"),
            "agent_hostname": alert.get("host_name"),
            "action_process_image_name": alert.get("actor_process_image_name"),
        }
        for alert in alerts[:5]
    ]
    return {
        "status": "SUCCESS",
        "number_of_results": len(rows),
        "query_cost": {"local_tenant": 0.0005},
        "remaining_quota": 999.5,
        "results": {"data": rows},
    }


def _read_xql(client: XdrClient) -> Any:
    results = client.get_query_results(calls.GetQueryResultsRequest(query_id="q-1"))

    # What a caller reads next: the rows, or the stream of a large result.
    return results.rows, results.stream_id


# Each parsed call: its base reply and how the client is asked for it.
CALLS: dict[str, tuple[Any, Callable[[XdrClient], Any]]] = {
    "get_incidents": (
        _reply("get_incidents_list.json"),
        lambda c: c.get_incidents(calls.GetIncidentsRequest()),
    ),
    "get_incident_extra_data": (
        _reply("get_incident_extra_data.json"),
        lambda c: c.get_incident_extra_data("1"),
    ),
    "get_incident_extra_data[all alerts]": (
        _reply("get_extra_data_all_alerts.json"),
        lambda c: c.get_incident_extra_data("1"),
    ),
    "get_multiple_incidents_extra_data": (
        _reply("get_multiple_incidents_extra_data.json"),
        lambda c: c.get_multiple_incidents_extra_data(
            calls.GetMultipleIncidentsExtraDataRequest()
        ),
    ),
    "get_alerts_multi_events": (
        _alerts_multi_events(),
        lambda c: c.get_alerts_multi_events(calls.GetAlertsMultiEventsRequest()),
    ),
    "get_query_results": (_xql_results(), _read_xql),
}


def paths_of(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every node of a JSON document, the root first."""
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*here, index))

    return found


def mutated_at(document: Any, path: tuple[Any, ...], new: Any, drop: bool) -> Any:
    """Return ``document`` with the node at ``path`` dropped or replaced by ``new``."""
    if not path:
        return new
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new

    return document


# Replacements a tree-walking mutation may put anywhere: swapped types, NaN and
# infinities, a huge list and deep nesting on top of hypothesis's own junk.
replacements = (
    junk
    | st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**64, -(2**63)])
    | st.builds(lambda n: [0] * n, st.sampled_from([1_000, 100_000]))
    | st.builds(
        lambda n: json.loads("[" * n + "]" * n), st.sampled_from([50, 400, 900])
    )
)


@st.composite
def mutated_replies(draw: st.DrawFn, base: Any) -> bytes:
    """Return the raw body of ``{"reply": base}`` after one to three mutations."""
    reply = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(reply)
        path = draw(st.sampled_from(paths))
        drop = bool(path) and draw(st.booleans())
        reply = mutated_at(reply, path, None if drop else draw(replacements), drop)
    raw = encode({"reply": reply}, draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:
        return draw(corrupted(raw))

    return raw


class Replay:
    """An XDR that answers every call 200 with the body it is given."""

    def __init__(self) -> None:
        self.body = b"{}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return httpx.Response(200, content=self.body, headers=headers)


@pytest.fixture(scope="module")
def replay() -> Iterator[tuple[XdrClient, Replay]]:
    """Return a client, with no retries and no rate limit, of a replaying XDR."""
    answer = Replay()
    client = XdrClient(
        "https://xdr.example.invalid",
        "1",
        "fuzz-key",
        limiter=TenantLimiter(1e9, 1e9, 1_000),
        max_attempts=1,
        transport=httpx.MockTransport(answer),
        sleep=lambda _seconds: None,
    )
    yield client, answer
    client.close()


def parses_or_is_a_bad_reply(
    client: XdrClient, ask: Callable[[XdrClient], Any]
) -> None:
    """Ask for the reply: it parses, or the client raises its bad-reply error."""
    try:
        ask(client)
    except XdrBadReply as exc:
        assert exc.code == "xdr_bad_reply"
        assert not exc.retryable


@pytest.mark.parametrize("call", sorted(CALLS))
def test_unmutated_reply_parses(replay: tuple[XdrClient, Replay], call: str) -> None:
    client, answer = replay
    base, ask = CALLS[call]
    answer.body = encode({"reply": base}, ascii_only=True)

    assert ask(client) is not None


@pytest.mark.parametrize("call", sorted(CALLS))
def test_mutated_reply_parses_or_is_a_bad_reply(
    replay: tuple[XdrClient, Replay], call: str
) -> None:
    client, answer = replay
    base, ask = CALLS[call]

    @hypothesis_settings(bounded, max_examples=40)
    @given(raw=mutated_replies(base))
    def check(raw: bytes) -> None:
        answer.body = raw
        parses_or_is_a_bad_reply(client, ask)

    check()


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b'"reply"',
        b"NaN",
        b"\xff\xfe{}",
        b'{"reply": ',
        b"[" * 5000,
    ],
    ids=["empty", "null", "list", "string", "nan", "not-utf8", "cut", "deep"],
)
def test_a_200_that_is_not_a_json_object_is_a_bad_reply(
    replay: tuple[XdrClient, Replay], call: str, raw: bytes
) -> None:
    client, answer = replay
    answer.body = raw

    with pytest.raises(XdrBadReply):
        CALLS[call][1](client)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_non_json_constant_deep_in_a_reply_is_a_bad_reply(
    replay: tuple[XdrClient, Replay], constant: str
) -> None:
    # Python's parser takes these; PostgreSQL's JSON columns would refuse the stored
    # snapshot on every retry of the ingest job.
    client, answer = replay
    base, ask = CALLS["get_incident_extra_data"]
    body = encode({"reply": base}, ascii_only=True).decode()
    answer.body = body.replace("{", '{"x_extra": ' + constant + ", ", 2).encode()

    with pytest.raises(XdrBadReply):
        ask(client)


@pytest.mark.parametrize(
    "results",
    [
        {"data": 5},
        {"data": "rows"},
        {"data": {"a": 1}},
        {"data": [1]},
        {"stream_id": 5},
    ],
    ids=["number", "text", "object", "scalar-rows", "numeric-stream"],
)
def test_xql_results_of_another_shape_are_a_bad_reply(
    replay: tuple[XdrClient, Replay], results: dict[str, Any]
) -> None:
    client, answer = replay
    answer.body = encode({"reply": {**_xql_results(), "results": results}}, True)

    with pytest.raises(XdrBadReply):
        _read_xql(client)
