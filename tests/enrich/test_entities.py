"""Entities picked out of Cortex XDR alerts."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.enrich.entities import entities_from_alerts

SHARED = Path(__file__).resolve().parents[3] / "shared"


def test_alert_fields_give_entities_and_technique_ids_by_frequency() -> None:
    alerts = [
        {
            "host_name": "WS-FIN-6341",
            "host_ip": "10.10.41.17",
            "user_name": "CORP\\joseph.green",
            "action_remote_ip": "203.0.113.66",
            "action_external_hostname": "Update-Check.example-cdn.net",
            "action_file_sha256": "AB" * 32,
            "mitre_technique_id_and_name": ["T1059.001 - PowerShell"],
        },
        {
            "host_name": "WS-FIN-6341",
            "host_ip": "1.1.1.1.",
            "mitre_technique_id_and_name": ["T1105 - Ingress Tool Transfer"],
        },
        {"mitre_technique_id_and_name": ["T1105 - Ingress Tool Transfer"]},
    ]

    entities = entities_from_alerts(alerts, incident_id="42")

    assert entities.hosts == ["WS-FIN-6341"]
    assert entities.users == ["joseph.green"]
    assert entities.ips == ["10.10.41.17", "203.0.113.66", "1.1.1.1"]
    assert entities.domains == ["update-check.example-cdn.net"]
    assert entities.hashes == ["ab" * 32]
    assert entities.technique_ids == ["T1105", "T1059.001"]


def test_real_incident_reply_with_file_artifacts() -> None:
    reply = json.loads(
        (SHARED / "fixtures" / "xdr" / "get_incident_extra_data.json").read_text(
            "utf-8"
        )
    )["reply"]

    entities = entities_from_alerts(
        reply["alerts"]["data"], artifacts=reply["file_artifacts"]["data"]
    )

    assert "AAAAAA" in entities.hosts
    assert (
        "8d5aec85593c85ecdc8d5ac601e163a1cc26d877f88c03e9e0e94c9dd4a38fca"
        in entities.hashes
    )
