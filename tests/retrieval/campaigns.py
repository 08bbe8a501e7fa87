"""Past incidents built from the labelled alert stream, for the retrieval evaluation.

Each attack campaign of ``xdr_stream_2k`` becomes one incident; a campaign of four
alerts or more becomes two (its earlier and its later alerts), as a SOC often sees
one intrusion as two incidents (lateral chains stay whole: either half alone may
show one host only). Every incident keeps its campaign id, its campaign
kind and its technique families (parent technique ids) as ground truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.enrich.attack import TECHNIQUE_ID
from appliance.enrich.entities import entities_from_alerts

STREAM = Path(__file__).resolve().parents[3] / "shared" / "data" / "alerts"


@dataclass
class LabelledIncident:
    """One incident built from campaign alerts, with its ground truth."""

    incident_id: str
    campaign_id: str
    kind: str
    families: set[str]
    summary: str
    techniques: list[str]
    entities: dict[str, Any] = field(default_factory=dict)


def _summary(alerts: list[dict[str, Any]]) -> str:
    """Write the incident summary an analyst would: what fired, where, in what order."""
    names = list(dict.fromkeys(a["name"] for a in alerts))
    categories = list(dict.fromkeys(a.get("category") or "" for a in alerts))
    tactics = list(
        dict.fromkeys(
            t.split(" - ", 1)[-1]
            for a in alerts
            for t in a.get("mitre_tactic_id_and_name") or []
        )
    )
    hosts = {a.get("host_name") for a in alerts if a.get("host_name")}
    users = {a.get("user_name") for a in alerts if a.get("user_name")}
    if len(hosts) > 1:
        scope = f"Multi-host incident across {len(hosts)} hosts"
    elif hosts:
        scope = "Single-host incident on one endpoint"
    else:
        scope = "Cloud identity incident with no endpoint"
    lines = [
        f"{scope}, {len(users)} user{'s' if len(users) != 1 else ''}, "
        f"{len(alerts)} alerts.",
        "Alerts: " + "; ".join(names[:12]) + ".",
        "Categories: " + ", ".join(c for c in categories if c) + ".",
    ]
    if tactics:
        lines.append("Tactics: " + " -> ".join(tactics) + ".")

    return "\n".join(lines)


def load_incidents() -> list[LabelledIncident]:
    """Return the labelled incidents built from the alert stream."""
    alerts = {}
    with open(STREAM / "xdr_stream_2k_alerts.jsonl", encoding="utf-8") as lines:
        for line in lines:
            alert = json.loads(line)
            alerts[alert["alert_id"]] = alert
    campaigns = json.loads(
        (STREAM / "xdr_stream_2k_campaigns.json").read_text(encoding="utf-8")
    )["campaigns"]
    incidents = []
    for campaign in campaigns:
        members = sorted(
            (alerts[a] for a in campaign["alert_ids"] if a in alerts),
            key=lambda a: a["detection_timestamp"],
        )
        parts = [members]
        # Half a lateral chain often sits on one host and is no longer lateral.
        if len(members) >= 4 and campaign["type"] != "lateral_chain":
            half = len(members) // 2
            parts = [members[:half], members[half:]]
        for n, part in enumerate(parts):
            entities = entities_from_alerts(part)
            techniques = list(
                dict.fromkeys(
                    t for a in part for t in a.get("mitre_technique_id_and_name") or []
                )
            )
            families = {t.split(".")[0] for t in entities.technique_ids}
            if not families:
                families = {
                    t.split(".")[0]
                    for t in TECHNIQUE_ID.findall(" ".join(campaign["techniques"]))
                }
            incidents.append(
                LabelledIncident(
                    incident_id=f"{campaign['campaign_id']}-{n}",
                    campaign_id=campaign["campaign_id"],
                    kind=campaign["type"],
                    families=families,
                    summary=_summary(part),
                    techniques=techniques,
                    entities=entities.model_dump(
                        include={"hosts", "users", "ips", "domains", "urls", "hashes"}
                    ),
                )
            )

    return incidents
