"""Tests of alert normalization: types, units, duplicates and limits."""

from __future__ import annotations

import pytest

from appliance.correlate.alerts import (
    InvalidAlert,
    normalize_alert,
    normalize_batch,
    normalize_user,
    parse_timestamp,
)
from tests.fakes.xdr_alerts import BASE_MS, xdr_alert


def test_normalize_alert_cleans_the_fields_correlation_compares() -> None:
    alert = normalize_alert(
        xdr_alert(
            host_name="WS-01",
            causality_actor_process_image_name="C:\\Program Files\\WINWORD.EXE",
            action_process_image_command_line="net use \\\\WS-02\\C$",
            mitre_tactic_id_and_name=[
                "TA0008 - Lateral Movement",
                "TA0002 - Execution",
            ],
        )
    )

    assert alert.host == "ws-01"
    assert alert.user == "alice"
    assert alert.causality == "winword.exe"
    assert alert.tactics == (3, 9)
    assert "ws-02" in alert.artifacts


def test_timestamps_in_seconds_become_milliseconds() -> None:
    assert parse_timestamp(BASE_MS // 1000, where="x") == BASE_MS // 1000 * 1000
    assert parse_timestamp(BASE_MS, where="x") == BASE_MS
    assert parse_timestamp("2026-03-02T00:00:00Z", where="x") == 1_772_409_600_000


@pytest.mark.parametrize("value", [None, "yesterday", True, -5, [1]])
def test_bad_timestamps_are_refused(value: object) -> None:
    with pytest.raises(InvalidAlert, match="detection_timestamp"):
        normalize_alert(xdr_alert(detection_timestamp=value))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("alert_id", None, "alert_id"),
        ("alert_id", {"id": 1}, "alert_id"),
        ("host_name", ["ws-01"], "host_name"),
        ("mitre_tactic_id_and_name", [1, 2], "mitre_tactic_id_and_name"),
    ],
)
def test_wrong_types_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidAlert, match=message):
        normalize_alert(xdr_alert(**{field: value}))


def test_missing_optional_fields_are_fine() -> None:
    alert = normalize_alert({"alert_id": 7, "detection_timestamp": BASE_MS})

    assert alert.alert_id == "7"
    assert alert.host is None and alert.user is None and alert.tactics == ()


def test_a_non_object_is_refused_with_its_position() -> None:
    with pytest.raises(InvalidAlert, match="alert 1"):
        normalize_batch([xdr_alert(), "not an alert"], max_alerts=10)


def test_a_repeated_alert_is_kept_once() -> None:
    alert = xdr_alert()

    batch = normalize_batch([alert, dict(alert), xdr_alert(minute=1)], max_alerts=10)

    assert len(batch.alerts) == 2
    assert batch.duplicates == 1


def test_two_different_alerts_with_one_id_are_an_error() -> None:
    first = xdr_alert()
    second = xdr_alert(minute=5, alert_id=first["alert_id"])

    with pytest.raises(InvalidAlert, match="two different alerts"):
        normalize_batch([first, second], max_alerts=10)


def test_a_batch_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidAlert, match="more than 2 alerts"):
        normalize_batch([xdr_alert() for _ in range(3)], max_alerts=2)


def test_batches_come_back_in_time_order() -> None:
    late, early = xdr_alert(minute=9), xdr_alert(minute=1)

    batch = normalize_batch([late, early], max_alerts=10)

    assert [a.alert_id for a in batch.alerts] == [early["alert_id"], late["alert_id"]]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("CORP\\Bob", "bob"), ("bob@corp.example", "bob@corp.example"), ("", None)],
)
def test_normalize_user(raw: str, expected: str | None) -> None:
    assert normalize_user(raw) == expected
