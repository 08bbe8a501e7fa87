"""The client against the sandbox: every call, both key types, every error."""

from __future__ import annotations

import logging

import pytest

from appliance.xdr import calls
from appliance.xdr.client import XdrClient
from appliance.xdr.errors import (
    XdrBadRequest,
    XdrRateLimited,
    XdrServerError,
    XdrTransportError,
    XdrUnauthorized,
    XqlParseError,
)
from appliance.xdr.sandbox import Faults
from tests.fakes.xdr_sandbox import KEYS, RunningSandbox, running_sandbox

KEY_TYPES = ["advanced", "standard"]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_get_incidents_pages_and_filters(
    sandbox: RunningSandbox, key_type: str
) -> None:
    with sandbox.client(key_type) as client:
        page = client.get_incidents(
            calls.GetIncidentsRequest(
                filters=[calls.Filter(field="status", operator="eq", value="new")],
                search_from=0,
                search_to=2,
                sort=calls.Sort(field="creation_time", keyword="asc"),
            )
        )

    assert page.total_count == 6
    assert [i.incident_id for i in page.incidents] == ["101", "102"]


def test_iter_incidents_follows_every_page(sandbox: RunningSandbox) -> None:
    sandbox.tenant.add_copies(230)
    with sandbox.client() as client:
        ids = [i.incident_id for i in client.iter_incidents([])]

    assert len(ids) == 236 == len(set(ids))
    assert sandbox.app.calls["incidents/get_incidents"] == 3


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_get_incident_extra_data(sandbox: RunningSandbox, key_type: str) -> None:
    with sandbox.client(key_type) as client:
        extra = client.get_incident_extra_data("102")

    assert extra.incident.severity == "critical"
    assert extra.alerts.total_count == 3
    assert any(a.actor_process_image_name == "PsExec64.exe" for a in extra.alerts.data)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_get_multiple_incidents_extra_data(
    sandbox: RunningSandbox, key_type: str
) -> None:
    with sandbox.client(key_type) as client:
        reply = client.get_multiple_incidents_extra_data(
            calls.GetMultipleIncidentsExtraDataRequest(
                filters=[
                    calls.Filter(
                        field="incident_id_list", operator="in", value=["101", "104"]
                    )
                ]
            )
        )

    assert sorted(i.incident.incident_id for i in reply.incidents) == ["101", "104"]
    assert reply.alerts_limit_per_incident == 50


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_update_incident_status_severity_assignee_and_comment(
    sandbox: RunningSandbox, key_type: str
) -> None:
    with sandbox.client(key_type) as client:
        assert client.update_incident(
            calls.UpdateIncidentRequest(
                incident_id="105",
                update_data=calls.UpdateIncidentData(
                    status=calls.IncidentStatus.RESOLVED_FALSE_POSITIVE,
                    manual_severity="low",
                    assigned_user_mail="analyst@example.com",
                    resolve_comment="approved remote tool",
                ),
            )
        )
        assert client.add_incident_comment("105", "a note")

    incident = sandbox.tenant.incidents["105"]["incident"]
    assert incident["status"] == "resolved_false_positive"
    assert incident["assigned_user_mail"] == "analyst@example.com"
    assert sandbox.tenant.comments["105"] == ["a note"]
    assert sandbox.tenant.writes["105"] == 2


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_alerts_multi_events_and_batched_update(
    sandbox: RunningSandbox, key_type: str
) -> None:
    sandbox.tenant.add_copies(60)
    all_ids = [a["alert_id"] for a in sandbox.tenant.all_alerts()]
    with sandbox.client(key_type) as client:
        events = client.get_alerts_multi_events(
            calls.GetAlertsMultiEventsRequest(
                filters=[
                    calls.Filter(field="alert_id_list", operator="in", value=["9101"])
                ]
            )
        )
        updated = client.update_alerts(
            all_ids, calls.UpdateAlertsData(severity="low", comment="triaged")
        )

    assert events.alerts[0].events
    assert len(all_ids) > 100
    assert sorted(updated) == sorted(all_ids)
    assert sandbox.app.calls["alerts/update_alerts"] == -(-len(all_ids) // 100)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_insert_parsed_alerts_in_batches_of_60(
    sandbox: RunningSandbox, key_type: str
) -> None:
    alert = calls.ParsedAlert(
        product="appliance",
        vendor="local",
        local_ip="10.0.0.1",
        local_port=1,
        remote_ip="10.0.0.2",
        remote_port=2,
        event_timestamp=1,
        alert_name="test",
    )
    with sandbox.client(key_type) as client:
        assert client.insert_parsed_alerts([alert] * 130) == 130

    assert len(sandbox.tenant.inserted_alerts) == 130
    assert sandbox.app.calls["alerts/insert_parsed_alerts"] == 3


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_xql_pending_success_stream_and_quota(
    sandbox: RunningSandbox, key_type: str
) -> None:
    with sandbox.client(key_type) as client:
        query_id = client.start_xql_query(
            calls.StartXqlQueryRequest(query="dataset = xdr_data | limit 5")
        )
        assert client.limiter.xql.running == 1
        request = calls.GetQueryResultsRequest(query_id=query_id)
        assert client.get_query_results(request).status == "PENDING"
        done = client.get_query_results(request)
        big = client.start_xql_query(
            calls.StartXqlQueryRequest(query="dataset = xdr_data | limit 5000")
        )
        client.get_query_results(calls.GetQueryResultsRequest(query_id=big))
        streamed = client.get_query_results(calls.GetQueryResultsRequest(query_id=big))
        quota = client.get_quota()

    assert done.status == "SUCCESS" and len(done.rows) == 5
    assert streamed.stream_id and not streamed.rows
    assert client.limiter.xql.running == 0
    assert quota.license_quota == 1000


def test_xql_syntax_error_carries_parse_err(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client, pytest.raises(XqlParseError) as caught:
        client.start_xql_query(calls.StartXqlQueryRequest(query="|alter2 x = 1"))

    assert caught.value.parse_err["line"] == 1
    assert client.limiter.xql.running == 0


def test_wrong_key_is_refused(sandbox: RunningSandbox) -> None:
    key_id, _ = KEYS["advanced"]
    with XdrClient(sandbox.url, key_id, "wrong", max_attempts=1) as client:
        with pytest.raises(XdrUnauthorized) as caught:
            client.get_quota()

    assert caught.value.err_code == 401


def test_wrong_standard_key_is_refused(sandbox: RunningSandbox) -> None:
    key_id, _ = KEYS["standard"]
    with XdrClient(sandbox.url, key_id, "wrong", key_type="standard") as client:
        with pytest.raises(XdrUnauthorized):
            client.get_quota()


def test_stale_timestamp_is_refused(sandbox: RunningSandbox) -> None:
    sandbox.app.clock = lambda: 10_000_000.0
    with sandbox.client() as client, pytest.raises(XdrUnauthorized) as caught:
        client.get_quota()

    assert caught.value.err_extra == "timestamp skew"


def test_timestamp_within_five_minutes_is_accepted(sandbox: RunningSandbox) -> None:
    import time

    sandbox.app.clock = lambda: time.time() + 240
    with sandbox.client() as client:
        assert client.get_quota().used_quota == 3.5


def test_page_over_100_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="at most 100"):
        calls.GetIncidentsRequest(search_from=0, search_to=101)


def test_sandbox_refuses_a_bad_comment_shape(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client, pytest.raises(XdrBadRequest):
        client.call(
            "incidents/update_incident",
            {"incident_id": "101", "update_data": {"comment": "plain"}},
        )

    assert sandbox.tenant.writes["101"] == 0


def test_retries_429_and_500_until_success() -> None:
    with running_sandbox(Faults(rate=0.5, kinds=("429", "500"), seed=7)) as box:
        with box.client(max_attempts=20) as client:
            for _ in range(20):
                assert client.get_quota().license_quota == 1000

    assert box.app.faults.injected["429"] > 0
    assert box.app.faults.injected["500"] > 0


def test_gives_up_with_the_typed_error_after_max_attempts() -> None:
    with running_sandbox(Faults(rate=1.0, kinds=("500",))) as box:
        with box.client(max_attempts=3) as client, pytest.raises(XdrServerError):
            client.get_quota()

    assert box.app.calls["xql/get_quota"] == 3


def test_rate_limit_exceeded_is_retried_as_rate_limited() -> None:
    with running_sandbox(Faults(rate=1.0, kinds=("429",))) as box:
        with box.client(max_attempts=2) as client, pytest.raises(XdrRateLimited):
            client.get_quota()


def test_dropped_connection_and_timeout_are_transport_errors() -> None:
    with running_sandbox(Faults(rate=1.0, kinds=("drop",))) as box:
        with box.client(max_attempts=2) as client, pytest.raises(XdrTransportError):
            client.get_quota()
    slow = Faults(rate=1.0, kinds=("slow",), slow_seconds=0.5)
    with running_sandbox(slow) as box:
        with box.client(max_attempts=1, timeout=0.1) as client:
            with pytest.raises(XdrTransportError):
                client.get_quota()


def test_sandbox_enforces_extra_data_rate() -> None:
    with running_sandbox(extra_data_per_minute=2) as box:
        with box.client(max_attempts=1) as client:
            client.get_incident_extra_data("101")
            client.get_incident_extra_data("101")
            with pytest.raises(XdrRateLimited):
                client.get_incident_extra_data("101")


def test_keys_and_payloads_never_reach_the_logs(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, key = KEYS["standard"]
    with sandbox.client("standard") as client:
        client.add_incident_comment("101", "SECRET-PAYLOAD-TEXT")
    with XdrClient(sandbox.url, "11", key, max_attempts=1) as client:
        with pytest.raises(XdrUnauthorized):
            client.get_quota()

    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert key not in text
    assert "SECRET-PAYLOAD-TEXT" not in text
