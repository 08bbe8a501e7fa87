"""Root-cause hypothesis: initial access, first malicious step, techniques ranked.

The structure (which alert came first, which techniques the alerts name, what
would confirm or refute the vector) comes from rules over the evidence; the model
words the hypothesis and explains each technique, within the evidence's enums.
"""

from __future__ import annotations

import time
from typing import Any

from appliance.tasks import schema
from appliance.tasks.evidence import SEVERITY_RANK, EvidencePack
from appliance.tasks.narrator import Narrator
from appliance.tasks.result import TaskResult, assemble, confidence

INSTRUCTIONS = (
    "Task: state the most likely root cause of this incident: how the attacker "
    "got in (initial access) and the first malicious step, then for each "
    "technique one sentence on why the evidence shows it. Add what would confirm "
    "and what would refute the hypothesis. JSON keys: hypothesis, techniques "
    "(technique, why), confirm, refute."
)
OFFICE = ("winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe")
BROWSERS = ("chrome.exe", "msedge.exe", "firefox.exe", "iexplore.exe")
# (technique prefix, vector, confirm, refute)
VECTORS = (
    (
        "T1566",
        "phishing",
        "Find the e-mail that delivered the file and who else received it.",
        "The file reached the host another way (download, share, USB).",
    ),
    (
        "T1204",
        "a malicious file opened by the user (likely phishing)",
        "Find how the file arrived: mail logs and browser downloads for its name.",
        "The file was dropped by a process already running on the host.",
    ),
    (
        "T1078",
        "valid account credentials used by someone other than their owner",
        "Ask the account owner; check sign-ins from the same source to other accounts.",
        "The owner confirms the sign-in (travel, VPN) and nothing else changed.",
    ),
    (
        "T1190",
        "exploitation of a public-facing application",
        "Match web server logs and vulnerability scans to the first alert's time.",
        "The service was not reachable from outside at that time.",
    ),
    (
        "T1133",
        "external remote services (VPN, RDP) with valid credentials",
        "Check VPN and RDP gateway logs for the account at that time.",
        "No remote session existed before the first alert.",
    ),
)


def initial_access(pack: EvidencePack) -> tuple[str, str, str]:
    """Return the likely vector and what would confirm or refute it."""
    for prefix, vector, confirm, refute in VECTORS:
        if any(t.startswith(prefix) for t in pack.technique_ids):
            return vector, confirm, refute
    first = pack.alerts[0]
    parent = str(first.get("chain", {}).get("causality_actor_process_image_name", ""))
    if parent.lower() in OFFICE:
        return VECTORS[1][1:]
    if parent.lower() in BROWSERS:
        return (
            "a file or script the user downloaded with a browser",
            "Find the download in proxy logs and the browser history.",
            "The process tree shows no browser ancestry.",
        )
    return (
        "not determined from the alerts; the earliest activity is "
        f"'{first.get('name')}'",
        "Widen the time frame before the first alert on the affected host.",
        "Earlier activity on the host explains the first alert as benign.",
    )


def first_malicious(pack: EvidencePack) -> dict[str, Any]:
    """Return the earliest alert of medium severity or above (else the earliest)."""
    for alert in pack.alerts:
        if SEVERITY_RANK.get(alert.get("severity", ""), 0) >= 2:
            return alert
    return pack.alerts[0]


def deterministic(pack: EvidencePack) -> dict[str, Any]:
    """Return the root-cause hypothesis built from the evidence alone."""
    vector, confirm, refute = initial_access(pack)
    first = first_malicious(pack)
    top = sorted(
        pack.alerts, key=lambda a: -SEVERITY_RANK.get(a.get("severity", ""), 0)
    )[:2]

    return {
        "initial_access": vector,
        "first_malicious_step": {
            "fact": first["fact"],
            "alert_id": first["alert_id"],
            "time": first.get("time"),
            "what": first.get("name"),
        },
        "hypothesis": (
            f"Likely initial access: {vector}. The first malicious step is "
            f"'{first.get('name')}' ({first['fact']}) at {first.get('time')}."
        ),
        "techniques": [
            {
                "rank": n,
                "fact": t["fact"],
                "technique": t["technique_id"],
                "name": t.get("name"),
                "tactic": t.get("tactic"),
                "why": f"named by alert(s) {', '.join(t['alerts'])}",
            }
            for n, t in enumerate(pack.techniques, start=1)
        ],
        "key_evidence": list(dict.fromkeys([first["fact"], *(a["fact"] for a in top)])),
        "confirm": [confirm],
        "refute": [refute],
    }


def answer_schema(seen: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON schema of the model's root-cause answer."""
    technique = schema.record(
        technique=schema.choice(schema.technique_ids(seen)), why=schema.text(200)
    )

    return schema.record(
        hypothesis=schema.text(500),
        techniques=schema.items(technique, max(1, len(seen.get("techniques", [])))),
        confirm=schema.items(schema.text(200), 3),
        refute=schema.items(schema.text(200), 3),
    )


def run(pack: EvidencePack, narrator: Narrator) -> TaskResult:
    """Form the root-cause hypothesis: rules decide, the model explains."""
    started = time.perf_counter()
    content = deterministic(pack)
    narration = narrator.narrate("root_cause", pack, INSTRUCTIONS, answer_schema)
    notes: list[str] = []
    dropped = 0
    if narration is not None:
        answer = narration.answer
        content["hypothesis"] = answer.get("hypothesis") or content["hypothesis"]
        why = {
            t.get("technique"): t.get("why")
            for t in answer.get("techniques") or []
            if t.get("why")
        }
        for technique in content["techniques"]:
            if why.get(technique["technique"]):
                technique["why"] = why[technique["technique"]]
        for key in ("confirm", "refute"):
            extra = [s for s in answer.get(key) or [] if s]
            content[key] = list(dict.fromkeys(content[key] + extra))[:4]
        notes += narration.notes
        dropped = narration.dropped_claims
    cited = content["key_evidence"] + [t["fact"] for t in content["techniques"]]
    score = confidence(pack, cited, dropped_claims=dropped)

    return assemble(
        "root_cause", pack, narrator, narration, content, score, cited, notes, started
    )
