"""Contract tests: every fixture of real XDR replies parses through the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from appliance.xdr import models
from appliance.xdr.sandbox_tenant import load_samples
from tests.conftest import SHARED

FIXTURES = SHARED / "fixtures" / "xdr"

# Each fixture, the model of its ``reply`` (or of the whole file when flattened).
REPLIES: dict[str, type[BaseModel]] = {
    "get_incidents_list.json": models.IncidentsPage,
    "get_incident_extra_data.json": models.IncidentExtraData,
    "get_incident_extra_data_new_status.json": models.IncidentExtraData,
    "get_extra_data_all_alerts.json": models.IncidentExtraData,
    "get_multiple_incidents_extra_data.json": models.MultipleIncidentsExtraData,
    "get_alerts_by_filter_results.json": models.AlertsByFilter,
    "contributing_events.json": models.CorrelationAlertData,
    "get_tenant_info.json": models.TenantInfo,
    "get_original_alerts_results.json": models.OriginalAlerts,
}
FLATTENED = [
    "raw_fetched_incident.json",
    "incident_example_from_extra_data_command.json",
    "resolved_incident_data.json",
    "reopened_incident_data.json",
]


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_every_fixture_has_a_model() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.json")}
    assert on_disk == set(REPLIES) | set(FLATTENED)


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_reply_fixture_parses_and_round_trips(name: str) -> None:
    reply = _load(name)["reply"]
    parsed = REPLIES[name].model_validate(reply)

    assert parsed.model_dump(mode="json", exclude_unset=True) == reply


@pytest.mark.parametrize("name", FLATTENED)
def test_flattened_incident_fixture_parses(name: str) -> None:
    data = _load(name)
    incident = models.FlatIncident.model_validate(data)

    assert incident.incident_id == str(data["incident_id"])
    assert len(incident.alerts) == len(data["alerts"])
    assert incident.model_dump(mode="json", exclude_unset=True) == data


def test_short_and_full_alert_schemas_are_told_apart() -> None:
    short = models.IncidentExtraData.model_validate(
        _load("get_incident_extra_data.json")["reply"]
    )
    full = models.IncidentExtraData.model_validate(
        _load("get_extra_data_all_alerts.json")["reply"]
    )

    assert not short.alerts.data[0].full_schema
    assert all(alert.full_schema for alert in full.alerts.data)
    assert full.alerts.total_count == 3
    assert {a.type for a in full.network_artifacts.data} == {"DOMAIN", "IP"}


def test_multiple_extra_data_keeps_each_incident_with_its_alerts() -> None:
    reply = models.MultipleIncidentsExtraData.model_validate(
        _load("get_multiple_incidents_extra_data.json")["reply"]
    )

    assert reply.alerts_limit_per_incident == 50
    assert [i.incident.incident_id for i in reply.incidents] == ["1", "2"]
    assert all(i.alerts.data for i in reply.incidents)


def test_xql_parse_error_reply_shape() -> None:
    error = models.ErrorReply.model_validate(
        {
            "err_code": 500,
            "err_msg": "XQL query failed to parse",
            "err_extra": {"parse_err": {"line": 1, "column": 19}},
        }
    )

    assert error.err_extra["parse_err"]["column"] == 19


def test_sandbox_samples_are_valid_extra_data_in_the_full_schema() -> None:
    samples = [models.IncidentExtraData.model_validate(s) for s in load_samples()]

    assert len(samples) >= 6
    for sample in samples:
        assert sample.alerts.data
        assert all(alert.full_schema for alert in sample.alerts.data)
    attack = [s for s in samples if s.incident.severity in {"high", "critical"}]
    assert len(attack) >= 4
    assert all(a.mitre_technique_id_and_name for s in attack for a in s.alerts.data)


def test_reply_models_keep_unknown_fields() -> None:
    incident = models.Incident.model_validate(
        {"incident_id": "9", "status": "new", "severity": "low", "future_field": 1}
    )

    assert incident.model_dump()["future_field"] == 1


def test_fixture_path_is_relative_to_the_repository() -> None:
    assert Path(FIXTURES).is_dir()
