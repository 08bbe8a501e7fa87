"""Triage summary: who, what, where, when, the attack chain and a severity.

Severity comes from rules over the evidence, never from the model; the model only
writes the title, the summary and one line per attack-chain step, choosing alert
ids from the evidence.
"""

from __future__ import annotations

import time
from typing import Any

from appliance.tasks import schema
from appliance.tasks.evidence import SEVERITY_RANK, EvidencePack, user_names
from appliance.tasks.narrator import Narrator
from appliance.tasks.result import TaskResult, assemble, confidence

INSTRUCTIONS = (
    "Task: triage this incident for a SOC analyst. Write a title (under 100 "
    "characters), a summary of three or four sentences saying who, what, where and "
    "when, and for each alert in time order one line on what it shows. JSON keys: "
    "title, summary, attack_chain (alert_id, what)."
)
# Tactics whose presence together makes an incident critical.
CRITICAL_TACTICS = (
    ({"TA0006", "TA0008"}, "credential access followed by lateral movement"),
    ({"TA0040"}, "impact on data or systems (ransomware precursor)"),
    ({"TA0010"}, "data exfiltration"),
    ({"TA0004", "TA0003"}, "persistence with privilege escalation"),
)
SEVERITIES = list(SEVERITY_RANK)


def tactic_ids(pack: EvidencePack) -> set[str]:
    """Return the tactic ids named by the alerts."""
    return {str(a["tactic"]).split(" ")[0] for a in pack.alerts if a.get("tactic")} | {
        str(t["tactic"]).split(" ")[0] for t in pack.techniques if t.get("tactic")
    }


def suggested_severity(pack: EvidencePack) -> tuple[str, str]:
    """Return the severity the evidence supports and the reason, by fixed rules."""
    alert_top = max(
        (SEVERITY_RANK.get(a.get("severity", ""), 0) for a in pack.alerts), default=0
    )
    level = alert_top
    reasons = [f"highest alert severity is {SEVERITIES[alert_top]}"]
    tactics = tactic_ids(pack)
    for needed, why in CRITICAL_TACTICS:
        if needed <= tactics and level < 4:
            level = 4
            reasons.append(why)
    if pack.asset_criticality in ("high", "critical") and 2 <= level < 4:
        level += 1
        reasons.append(f"an affected asset is of {pack.asset_criticality} criticality")
    if any(c.get("kind") == "intel" for c in pack.context) and level < 3:
        level = 3
        reasons.append("an indicator matches threat intelligence")

    return SEVERITIES[level], "; ".join(reasons)


def _step_text(alert: dict[str, Any]) -> str:
    """Return one attack-chain step as plain text from the alert's own fields."""
    chain = alert.get("chain", {})
    actor = chain.get("actor_process_image_name")
    target = (
        chain.get("action_process_image_name")
        or chain.get("action_file_path")
        or chain.get("action_external_hostname")
        or chain.get("action_remote_ip")
    )
    where = alert.get("host_name") or alert.get("user_name") or "the tenant"
    how = f" ({actor} → {target})" if actor and target else ""

    return f"{alert.get('name')} on {where}{how}"


def deterministic(pack: EvidencePack) -> dict[str, Any]:
    """Return the triage built from the evidence alone."""
    alerts = pack.alerts
    hosts = pack.entities["hosts"]
    users = user_names(pack)
    severity, reason = suggested_severity(pack)
    top = max(alerts, key=lambda a: SEVERITY_RANK.get(a.get("severity", ""), 0))
    where = ", ".join(hosts) or "cloud or identity resources"
    techniques = ", ".join(
        f"{t['technique_id']} {t.get('name') or ''}".strip() for t in pack.techniques
    )
    summary = (
        f"Who: {', '.join(users) or 'no user named'}. "
        f"What: {len(pack.alert_ids)} alert(s), from '{alerts[0].get('name')}' "
        f"({alerts[0]['fact']}) to '{alerts[-1].get('name')}' ({alerts[-1]['fact']})"
        + (f"; techniques {techniques}" if techniques else "")
        + f". Where: {where}. When: {alerts[0].get('time')} to "
        f"{alerts[-1].get('last_time') or alerts[-1].get('time')}."
    )

    return {
        "title": f"{top.get('name')} on {hosts[0] if hosts else where}"
        + (f" ({len(alerts) - 1} related alert(s))" if len(alerts) > 1 else ""),
        "summary": summary,
        "attack_chain": [
            {
                "step": n,
                "fact": a["fact"],
                "alert_id": a["alert_id"],
                "time": a.get("time"),
                "technique": a.get("technique"),
                "tactic": a.get("tactic"),
                "what": _step_text(a),
            }
            for n, a in enumerate(alerts, start=1)
        ],
        "severity": {"suggested": severity, "reason": reason},
    }


def answer_schema(seen: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON schema of the model's triage answer."""
    step = schema.record(
        alert_id=schema.choice(schema.alert_ids(seen)), what=schema.text(160)
    )

    return schema.record(
        title=schema.text(100),
        summary=schema.text(600),
        attack_chain=schema.items(step, max(1, len(seen.get("alerts", [])))),
    )


def run(pack: EvidencePack, narrator: Narrator) -> TaskResult:
    """Triage the incident: the model narrates, the evidence decides."""
    started = time.perf_counter()
    content = deterministic(pack)
    narration = narrator.narrate("triage", pack, INSTRUCTIONS, answer_schema)
    notes: list[str] = []
    dropped = 0
    if narration is not None:
        answer = narration.answer
        content["title"] = answer.get("title") or content["title"]
        content["summary"] = answer.get("summary") or content["summary"]
        lines = {
            s.get("alert_id"): s.get("what")
            for s in answer.get("attack_chain") or []
            if s.get("what")
        }
        for step in content["attack_chain"]:
            if lines.get(step["alert_id"]):
                step["what"] = lines[step["alert_id"]]
        notes += narration.notes
        dropped = narration.dropped_claims
    cited = [s["fact"] for s in content["attack_chain"]] + [
        t["fact"] for t in pack.techniques
    ]
    score = confidence(pack, cited, dropped_claims=dropped)
    top_technique = pack.techniques[0] if pack.techniques else None
    content["custom_fields"] = {
        "AI_Confidence_Score": score,
        "likely_attack_technique": (
            f"{top_technique['technique_id']} - {top_technique.get('name')}"
            if top_technique
            else "none in the alerts"
        ),
        "business_unit_impact": pack.business_unit_impact
        or "unknown (no CMDB record for the affected assets)",
    }

    return assemble(
        "triage", pack, narrator, narration, content, score, cited, notes, started
    )
