"""Build the evidence pack of one incident: the facts every task may rest on.

The pack is made deterministically from the ``reply`` of XDR's
``get_incident_extra_data``: the alerts with their causality chains, the entities,
the techniques and tactics from the alerts' own MITRE fields, enrichment and similar
past incidents. Every fact gets a stable id (``AL1`` for the first alert in time,
``TE1`` for the most cited technique, ``CX1`` for the first context finding, ``SI1``
for the most similar past incident), so two runs on the same incident cite the same
ids. The pack is kept within a token budget by ranking and compacting alerts, never
by cutting the text at a length.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TECHNIQUE_ID = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
TACTIC_ID = re.compile(r"\bTA\d{4}\b")
SEVERITY_RANK = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
DEFAULT_BUDGET = 1500
# Characters per token of JSON evidence for the models in use (measured on the
# sample incidents with the Qwen2.5 and SmolLM2 tokenizers: 3.3 to 3.8).
CHARS_PER_TOKEN = 3.5
COMMAND_LINE_KEEP = 160
# What each causality chain keeps of an alert, parent to child; XDR field names,
# so the scrubber knows what each value is.
CHAIN_FIELDS = (
    "causality_actor_process_image_name",
    "causality_actor_process_command_line",
    "actor_process_image_name",
    "actor_process_command_line",
    "action_process_image_name",
    "action_process_image_command_line",
    "action_file_path",
    "action_registry_full_key",
    "action_registry_data",
    "action_external_hostname",
    "dns_query_name",
    "action_remote_ip",
    "action_remote_port",
    "action_country",
)
# Each hash field and the field that names its file.
HASH_NAMES = {
    "causality_actor_process_image_sha256": "causality_actor_process_image_name",
    "actor_process_image_sha256": "actor_process_image_name",
    "action_process_image_sha256": "action_process_image_name",
    "action_file_sha256": "action_file_name",
    "action_file_macro_sha256": "action_file_name",
}
HASH_FIELDS = (
    "causality_actor_process_image_sha256",
    "actor_process_image_sha256",
    "action_process_image_sha256",
    "action_file_sha256",
    "action_file_macro_sha256",
)
_SYSTEM = frozenset(
    {
        "cmd.exe",
        "powershell.exe",
        "rundll32.exe",
        "winword.exe",
        "lsass.exe",
        "svchost.exe",
        "services.exe",
        "explorer.exe",
        "net.exe",
        "vssadmin.exe",
    }
)
BLANK: tuple[Any, ...] = (None, "", "N/A", "UNKNOWN", [], {})


def estimate_tokens(data: Any) -> int:
    """Return the estimated prompt tokens of ``data`` rendered as the prompt has it.

    The privacy prompt builder renders data as JSON indented by one space, so the
    estimate measures that form.
    """
    text = data if isinstance(data, str) else json.dumps(data, indent=1)

    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _time(ms: Any) -> str | None:
    """Return an XDR millisecond timestamp as ISO 8601 UTC."""
    if not isinstance(ms, int | float) or ms <= 0:
        return None
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)

    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _present(value: Any) -> bool:
    return value not in BLANK and not (isinstance(value, str) and not value.strip())


def mitre_text(value: Any) -> str | None:
    """Return an alert's MITRE field as text (XDR sends a string or a list)."""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value if v)
    return str(value) if _present(value) else None


def _user(value: str) -> str:
    """Return the account name without its Windows domain."""
    return value.split("\\")[-1]


def _public_ip(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_global
    except ValueError:
        return False


@dataclass
class EvidencePack:
    """The facts of one incident, ready to quote to a model.

    Attributes:
        incident_id: the XDR incident id.
        incident: the incident's own fields (name, severity, status, hosts, users).
        alerts: one entry per alert (or group of identical alerts), in time order.
        techniques: techniques from the alerts' MITRE fields, most cited first.
        entities: hosts, users, IPs, domains, hashes and process names.
        context: enrichment findings (asset criticality, vulnerabilities, intel).
        similar: similar past incidents with their resolution.
        compaction: what was compacted to stay within the budget.
        budget: the token budget the pack was fitted to.
    """

    incident_id: str
    incident: dict[str, Any]
    alerts: list[dict[str, Any]]
    techniques: list[dict[str, Any]]
    entities: dict[str, list[str]]
    context: list[dict[str, Any]] = field(default_factory=list)
    similar: list[dict[str, Any]] = field(default_factory=list)
    compaction: list[str] = field(default_factory=list)
    budget: int = DEFAULT_BUDGET
    business_unit_impact: str | None = None
    asset_criticality: str | None = None
    hash_files: dict[str, str] = field(default_factory=dict)

    @property
    def alert_ids(self) -> list[str]:
        """Return every XDR alert id in the pack."""
        return [i for a in self.alerts for i in a.get("alert_ids", [a["alert_id"]])]

    @property
    def fact_ids(self) -> list[str]:
        """Return every fact id in the pack."""
        return (
            [a["fact"] for a in self.alerts]
            + [t["fact"] for t in self.techniques]
            + [c["fact"] for c in self.context]
            + [s["fact"] for s in self.similar]
        )

    @property
    def technique_ids(self) -> list[str]:
        """Return the technique ids, most cited first."""
        return [t["technique_id"] for t in self.techniques]

    def alert_fact(self, alert_id: str) -> str | None:
        """Return the fact id of the alert ``alert_id``."""
        for alert in self.alerts:
            if alert_id in alert.get("alert_ids", [alert["alert_id"]]):
                return str(alert["fact"])
        return None

    def as_data(self) -> dict[str, Any]:
        """Return the pack as the JSON the model is shown (quoted, never obeyed)."""
        data: dict[str, Any] = {
            "incident": self.incident,
            "alerts": self.alerts,
            "techniques": self.techniques,
            "entities": {k: v for k, v in self.entities.items() if v},
        }
        if self.context:
            data["context"] = self.context
        if self.similar:
            data["similar_incidents"] = self.similar

        return data

    @property
    def tokens(self) -> int:
        """Return the estimated prompt tokens of the pack."""
        return estimate_tokens(self.as_data())


def _chain(alert: Mapping[str, Any]) -> dict[str, Any]:
    """Return the alert's causality chain: parent, actor, action, network."""
    return {name: alert[name] for name in CHAIN_FIELDS if _present(alert.get(name))}


def _alert_entry(alert: Mapping[str, Any], fact: str) -> dict[str, Any]:
    """Return one alert as evidence, its fields under their XDR names."""
    entry: dict[str, Any] = {
        "fact": fact,
        "alert_id": str(alert.get("alert_id")),
        "time": _time(alert.get("detection_timestamp")),
        "name": alert.get("name"),
        "severity": str(alert.get("severity") or "unknown").lower(),
        "category": alert.get("category"),
        "description": alert.get("description"),
        "host_name": alert.get("host_name"),
        "user_name": alert.get("user_name"),
        "technique": mitre_text(alert.get("mitre_technique_id_and_name")),
        "tactic": mitre_text(alert.get("mitre_tactic_id_and_name")),
        "action": alert.get("action_pretty") or alert.get("action"),
        "chain": _chain(alert),
        "hashes": [alert[n] for n in HASH_FIELDS if _present(alert.get(n))],
    }

    return {k: v for k, v in entry.items() if _present(v)}


def _rank(entry: Mapping[str, Any]) -> tuple[int, int, int]:
    """Return how much an alert matters: severity, MITRE fields, chain length."""
    return (
        SEVERITY_RANK.get(entry.get("severity", ""), 0),
        int("technique" in entry),
        len(entry.get("chain", {})),
    )


def _entities(alerts: Sequence[Mapping[str, Any]], reply: Mapping[str, Any]) -> dict:
    """Collect hosts, users, IPs, domains, hashes and process names."""
    found: dict[str, dict[str, None]] = {
        k: {} for k in ("hosts", "users", "ips", "domains", "hashes", "process_names")
    }
    for alert in alerts:
        for name, kind in (("host_name", "hosts"), ("user_name", "users")):
            if _present(alert.get(name)):
                found[kind][str(alert[name])] = None
        for name in ("action_remote_ip", "action_local_ip", "host_ip"):
            for value in str(alert.get(name) or "").split(","):
                if _present(value.strip()):
                    found["ips"][value.strip()] = None
        for name in ("action_external_hostname", "dns_query_name"):
            if _present(alert.get(name)):
                found["domains"][str(alert[name]).lower()] = None
        for name in HASH_FIELDS:
            if _present(alert.get(name)):
                found["hashes"][str(alert[name]).lower()] = None
        for name in ("actor_process_image_name", "action_process_image_name"):
            if _present(alert.get(name)):
                found["process_names"][str(alert[name])] = None
    for artifact in (reply.get("network_artifacts") or {}).get("data", []):
        if _present(artifact.get("network_domain")):
            found["domains"][str(artifact["network_domain"]).lower()] = None
        if _present(artifact.get("network_remote_ip")):
            found["ips"][str(artifact["network_remote_ip"])] = None
    for artifact in (reply.get("file_artifacts") or {}).get("data", []):
        if _present(artifact.get("file_sha256")):
            found["hashes"][str(artifact["file_sha256"]).lower()] = None

    return {k: list(v) for k, v in found.items()}


def _techniques(
    alerts: Sequence[Mapping[str, Any]], facts: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Return the techniques of the alerts' MITRE fields, most cited first."""
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    tactics: dict[str, str] = {}
    cited_by: dict[str, list[str]] = {}
    for alert in alerts:
        text = mitre_text(alert.get("mitre_technique_id_and_name")) or ""
        for part in text.split("; "):
            for tid in TECHNIQUE_ID.findall(part):
                name = part.split(" - ", 1)[1] if " - " in part else ""
                names.setdefault(tid, name.strip())
        for tid in TECHNIQUE_ID.findall(text):
            counts[tid] += 1
            tactic = mitre_text(alert.get("mitre_tactic_id_and_name")) or ""
            if tactic:
                tactics.setdefault(tid, tactic)
            cited_by.setdefault(tid, []).append(facts[str(alert.get("alert_id"))])
    ordered = sorted(counts, key=lambda t: (-counts[t], t))

    return [
        {
            "fact": f"TE{n}",
            "technique_id": tid,
            "name": names.get(tid) or None,
            "tactic": tactics.get(tid),
            "alerts": cited_by[tid],
        }
        for n, tid in enumerate(ordered, start=1)
    ]


def _context(enrichment: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Turn enrichment findings into context facts (assets, vulnerabilities, intel)."""
    facts: list[dict[str, Any]] = []
    if not enrichment:
        return facts
    for source in enrichment.get("sources", []):
        if source.get("status") != "ok" or source.get("kind") == "attack":
            continue
        for finding in source.get("findings", [])[:5]:
            slim = {k: v for k, v in finding.items() if _present(v)}
            facts.append({"kind": source.get("kind"), **slim})

    return [{"fact": f"CX{n}", **f} for n, f in enumerate(facts, start=1)]


def build_pack(
    reply: Mapping[str, Any],
    *,
    enrichment: Mapping[str, Any] | None = None,
    similar: Sequence[Mapping[str, Any]] = (),
    budget: int = DEFAULT_BUDGET,
) -> EvidencePack:
    """Build the evidence pack of the incident in ``reply``, within ``budget`` tokens.

    Args:
        reply: the ``reply`` of ``get_incident_extra_data`` (incident, alerts,
            network and file artifacts).
        enrichment: an ``EnrichmentContext`` as a dict, if enrichment ran.
        similar: similar past incidents as dicts (``SimilarIncident.as_dict()``).
        budget: tokens the pack should fit in; alerts are compacted, least
            important first, until it does.
    """
    incident = reply.get("incident") or {}
    raw_alerts = list((reply.get("alerts") or {}).get("data") or [])
    raw_alerts.sort(
        key=lambda a: (a.get("detection_timestamp") or 0, str(a.get("alert_id")))
    )
    facts = {str(a.get("alert_id")): f"AL{n}" for n, a in enumerate(raw_alerts, 1)}
    alerts = [_alert_entry(a, facts[str(a.get("alert_id"))]) for a in raw_alerts]
    summary = {
        "incident_id": str(incident.get("incident_id")),
        "incident_name": incident.get("incident_name"),
        "severity": str(incident.get("severity") or "unknown").lower(),
        "status": incident.get("status"),
        "created": _time(incident.get("creation_time")),
        "alert_count": incident.get("alert_count", len(raw_alerts)),
        "hosts": [h.split(":")[0] for h in incident.get("hosts") or []],
        "users": incident.get("users") or [],
    }
    enrichment = enrichment or {}
    pack = EvidencePack(
        incident_id=summary["incident_id"],
        incident={k: v for k, v in summary.items() if _present(v)},
        alerts=alerts,
        techniques=_techniques(raw_alerts, facts),
        entities=_entities(raw_alerts, reply),
        context=_context(enrichment),
        similar=[
            {
                "fact": f"SI{n}",
                "incident_id": s.get("incident_id"),
                "similarity": s.get("similarity"),
                "resolution": s.get("resolution"),
                "summary": s.get("summary"),
            }
            for n, s in enumerate(similar[:3], start=1)
        ],
        budget=budget,
        business_unit_impact=enrichment.get("business_unit_impact"),
        asset_criticality=enrichment.get("asset_criticality"),
    )
    for alert in raw_alerts:
        for hash_field, name_field in HASH_NAMES.items():
            if _present(alert.get(hash_field)):
                name = alert.get(name_field) or alert.get("action_file_path") or ""
                pack.hash_files.setdefault(str(alert[hash_field]).lower(), str(name))
    fit(pack)

    return pack


def _shorten(text: str) -> str:
    """Keep the start of a long command line and say how much was left out."""
    if len(text) <= COMMAND_LINE_KEEP:
        return text
    return f"{text[:COMMAND_LINE_KEEP]} …[{len(text) - COMMAND_LINE_KEEP} more chars]"


def _merge_duplicates(pack: EvidencePack) -> bool:
    """Fold alerts with the same name, host and technique into one entry."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    merged: list[dict[str, Any]] = []
    for alert in pack.alerts:
        key = (alert.get("name"), alert.get("host_name"), alert.get("technique"))
        first = groups.get(key)
        if first is None:
            groups[key] = alert
            merged.append(alert)
            continue
        first.setdefault("alert_ids", [first["alert_id"]]).append(alert["alert_id"])
        first["count"] = len(first["alert_ids"])
        first["last_time"] = alert.get("time")
    changed = len(merged) < len(pack.alerts)
    pack.alerts = merged

    return changed


def fit(pack: EvidencePack) -> None:
    """Compact the pack until it fits its budget, least important alerts first.

    The steps, each taken only while the pack is over budget: hashes leave the
    alerts (they stay in ``entities``); identical alerts are folded together; long
    command lines of the least important alerts keep their first characters and
    say how many were left out; then the least important alerts keep only their
    name, time, severity, host, user and technique. Similar incidents and context
    are cut to the best ones last. What was done is listed in ``compaction``.
    """
    if pack.tokens <= pack.budget:
        return
    for alert in pack.alerts:
        alert.pop("hashes", None)
        if alert.get("chain"):
            alert.pop("description", None)
    pack.compaction.append("hashes and descriptions of chained alerts left out")
    if pack.tokens > pack.budget:
        for technique in pack.techniques:
            technique.pop("name", None)
            technique.pop("tactic", None)
        pack.compaction.append("technique names and tactics kept on the alerts only")
    hashes = pack.entities["hashes"]
    if pack.tokens > pack.budget and len(hashes) > 4:
        # Hashes of the alerts' own tools and files first, system binaries last.
        hashes.sort(key=lambda h: pack.hash_files.get(h, "").lower() in _SYSTEM)
        pack.entities["hashes"] = hashes[:4]
        pack.compaction.append(f"entities: 4 of {len(hashes)} hashes kept")
    if pack.tokens > pack.budget and _merge_duplicates(pack):
        pack.compaction.append("identical alerts folded together")
    by_rank = sorted(pack.alerts, key=_rank)
    for alert in by_rank:
        if pack.tokens <= pack.budget:
            break
        chain = alert.get("chain", {})
        before = dict(chain)
        for name, value in list(chain.items()):
            if isinstance(value, str) and "command_line" in name:
                chain[name] = _shorten(value)
        if chain != before:
            pack.compaction.append(f"{alert['fact']}: long command lines shortened")
    for alert in by_rank:
        if pack.tokens <= pack.budget:
            break
        for name in ("chain", "description", "category", "action", "tactic"):
            alert.pop(name, None)
        pack.compaction.append(f"{alert['fact']}: reduced to its headline")
    while pack.tokens > pack.budget and (pack.similar or pack.context):
        dropped = (pack.similar or pack.context).pop()
        pack.compaction.append(f"{dropped['fact']}: left out (least relevant)")
    for kind in ("process_names", "ips"):
        if pack.tokens > pack.budget and len(pack.entities[kind]) > 8:
            pack.entities[kind] = pack.entities[kind][:8]
            pack.compaction.append(f"entities: first 8 {kind} kept")


def public_ips(pack: EvidencePack) -> list[str]:
    """Return the pack's public (remote) IP addresses."""
    return [ip for ip in pack.entities["ips"] if _public_ip(ip)]


def user_names(pack: EvidencePack) -> list[str]:
    """Return the pack's user accounts without their Windows domains."""
    return list(dict.fromkeys(_user(u) for u in pack.entities["users"]))
