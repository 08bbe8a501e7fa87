"""Response recommendations: ranked, sequenced actions from the catalogue.

Which actions are recommended, and in what order, follows fixed rules over the
evidence (techniques, tactics, severity, asset criticality), so text inside an
alert can neither add nor remove nor reorder an action. The model writes the
rationale of each action, choosing action ids from the candidate list. Nothing is
executed: ``AI_Recommended_Action`` names the first action for an analyst.
"""

from __future__ import annotations

import time
from typing import Any

from appliance.tasks import schema
from appliance.tasks.catalogue import CATALOGUE
from appliance.tasks.evidence import EvidencePack, public_ips, user_names
from appliance.tasks.narrator import Narrator
from appliance.tasks.result import TaskResult, assemble, confidence
from appliance.tasks.triage import suggested_severity, tactic_ids

INSTRUCTIONS = (
    "Task: the response actions below were chosen by the appliance's rules, in "
    "this order. For each action id write one sentence of rationale from the "
    "evidence. Do not add, remove or reorder actions.\n"
    "<<<ACTIONS\n{{ actions }}\nACTIONS>>>\n"
    "JSON keys: rationale (action, why)."
)
# System binaries and admin tools whose hash must not be blocked fleet-wide.
SYSTEM_IMAGES = frozenset(
    {
        "cmd.exe",
        "powershell.exe",
        "pwsh.exe",
        "rundll32.exe",
        "regsvr32.exe",
        "winword.exe",
        "excel.exe",
        "outlook.exe",
        "powerpnt.exe",
        "lsass.exe",
        "svchost.exe",
        "services.exe",
        "explorer.exe",
        "wmic.exe",
        "mshta.exe",
        "vssadmin.exe",
        "wscript.exe",
        "cscript.exe",
        "schtasks.exe",
        "sc.exe",
        "net.exe",
        "reg.exe",
        "msiexec.exe",
        "conhost.exe",
    }
)
CONTAIN_TACTICS = {"TA0006", "TA0008", "TA0011", "TA0040", "TA0010"}
IDENTITY_TACTICS = {"TA0006", "TA0001", "TA0003", "TA0004"}


def playbook(pack: EvidencePack) -> str:
    """Return the XSOAR playbook that fits the incident's techniques."""
    techniques = " ".join(pack.technique_ids)
    tactics = tactic_ids(pack)
    if "TA0040" in tactics or "T1490" in techniques or "T1486" in techniques:
        return "Ransomware Response"
    if "T1566" in techniques or "T1204" in techniques:
        return "Phishing Investigation - Generic v2"
    if "T1078" in techniques or "T1098" in techniques or "T1136" in techniques:
        return "Compromised Credentials Response"
    return "Endpoint Malware Investigation - Generic"


def candidates(pack: EvidencePack) -> list[dict[str, Any]]:
    """Return the recommended actions, ranked and sequenced by fixed rules."""
    severity, _ = suggested_severity(pack)
    tactics = tactic_ids(pack)
    serious = severity in ("high", "critical")
    planned: list[tuple[str, str, list[str]]] = []

    def facts_naming(value: str) -> list[str]:
        return [a["fact"] for a in pack.alerts if value.lower() in str(a).lower()]

    hosts = pack.entities["hosts"]
    if serious and tactics & CONTAIN_TACTICS:
        planned += [("isolate_endpoint", h, facts_naming(h)) for h in hosts]
    for alert in pack.alerts:
        chain = alert.get("chain", {})
        image = chain.get("actor_process_image_name")
        blocked = str(alert.get("action", "")).lower().startswith(("prevent", "block"))
        if serious and image and not blocked and image.lower() not in SYSTEM_IMAGES:
            host = alert.get("host_name") or ""
            planned.append(("kill_process", f"{image} on {host}", [alert["fact"]]))
    for sha, name in pack.hash_files.items():
        if sha in pack.entities["hashes"] and name.lower() not in SYSTEM_IMAGES:
            if serious:
                planned.append(("block_hash", sha, facts_naming(sha) or []))
    for ip in public_ips(pack):
        if serious and tactics & {"TA0011", "TA0010", "TA0001"}:
            planned.append(("block_ip", ip, facts_naming(ip)))
    for domain in pack.entities["domains"]:
        if serious and "TA0011" in tactics:
            planned.append(("block_domain", domain, facts_naming(domain)))
    if serious and tactics & IDENTITY_TACTICS:
        for user in user_names(pack):
            kind = (
                "disable_account"
                if tactics & {"TA0003", "TA0004"}
                else ("reset_credentials")
            )
            planned.append((kind, user, facts_naming(user)))
    planned += [("collect_forensics", h, facts_naming(h)) for h in hosts]
    planned.append(("run_playbook", playbook(pack), [a["fact"] for a in pack.alerts]))

    actions = []
    for order, (kind, target, facts) in enumerate(
        dict.fromkeys((k, t, tuple(f)) for k, t, f in planned), start=1
    ):
        entry = CATALOGUE[kind]
        effect = entry.business_effect
        if pack.asset_criticality and entry.target == "host":
            effect += f" Asset criticality: {pack.asset_criticality}."
        actions.append(
            {
                "id": f"RA{order}",
                "order": order,
                "action": kind,
                "target": target,
                "summary": entry.summary,
                "rationale": f"{entry.summary} Evidence: "
                f"{', '.join(facts) or 'the incident'}.",
                "business_impact": effect,
                "risk": entry.risk,
                "evidence": list(facts),
                "executed": False,
            }
        )

    return actions


def answer_schema(seen: dict[str, Any], action_ids: list[str]) -> dict[str, Any]:
    """Return the JSON schema of the model's rationale per action."""
    line = schema.record(action=schema.choice(action_ids), why=schema.text(200))

    return schema.record(rationale=schema.items(line, len(action_ids)))


def run(pack: EvidencePack, narrator: Narrator) -> TaskResult:
    """Recommend response actions; the model explains them, the rules pick them."""
    started = time.perf_counter()
    actions = candidates(pack)
    ids = [a["id"] for a in actions]
    shown = [
        {"id": a["id"], "action": a["action"], "target": a["target"]} for a in actions
    ]
    narration = narrator.narrate(
        "response",
        pack,
        INSTRUCTIONS,
        lambda seen: answer_schema(seen, ids),
        data={"actions": shown},
        extra_grounding=tuple(str(a["target"]) for a in actions),
    )
    notes: list[str] = []
    dropped = 0
    if narration is not None:
        why = {
            r.get("action"): r.get("why")
            for r in narration.answer.get("rationale") or []
            if r.get("why")
        }
        for action in actions:
            if why.get(action["id"]):
                action["rationale"] = why[action["id"]]
        notes += narration.notes
        dropped = narration.dropped_claims
    first = actions[0]
    content = {
        "actions": actions,
        "custom_fields": {
            "AI_Recommended_Action": f"{first['action']}: {first['target']}"
        },
        "executed": False,
    }
    cited = [f for a in actions for f in a["evidence"]]
    score = confidence(pack, cited, dropped_claims=dropped)

    return assemble(
        "response", pack, narrator, narration, content, score, cited, notes, started
    )
