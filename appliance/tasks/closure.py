"""Closure summary and knowledge-base article of a resolved incident.

The timeline, the actions taken and the resolution come from the incident and the
alerts; the root cause from the root-cause task's rules. The model words the
summary, the lessons and the suggested policy or detection changes. The article
is what the similar-incident index stores for the next analyst.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from appliance.tasks import schema
from appliance.tasks.evidence import EvidencePack
from appliance.tasks.narrator import Narrator
from appliance.tasks.result import TaskResult, assemble, confidence
from appliance.tasks.root_cause import first_malicious, initial_access
from appliance.tasks.triage import tactic_ids

INSTRUCTIONS = (
    "Task: the incident is resolved ({{ resolution }}). Write a closure summary "
    "of two or three sentences, up to three lessons learned and up to three "
    "suggested policy or detection changes, each from the evidence. JSON keys: "
    "summary, lessons, detection_changes."
)
# Tactic id -> a detection or policy change worth proposing when it was seen.
CHANGES = {
    "TA0001": "Review conditional-access and sign-in risk policies for the "
    "account type involved.",
    "TA0002": "Add an attack-surface-reduction rule blocking Office and script "
    "hosts from starting child processes.",
    "TA0003": "Alert on new accounts, services and scheduled tasks created outside "
    "change windows.",
    "TA0006": "Enable LSASS protection (RunAsPPL, Credential Guard) and alert on "
    "any handle to LSASS from non-system tools.",
    "TA0008": "Restrict admin shares and remote service creation to jump hosts.",
    "TA0011": "Block newly registered and uncategorised domains at the proxy.",
    "TA0040": "Alert on shadow-copy deletion and protect backups offline.",
    "TA0004": "Require approval for attaching administrator policies to new "
    "identities.",
}


def deterministic(
    pack: EvidencePack,
    resolution: dict[str, Any],
    actions_taken: Sequence[str],
) -> dict[str, Any]:
    """Return the closure summary built from the evidence and the resolution."""
    vector, _, _ = initial_access(pack)
    first = first_malicious(pack)
    status = resolution.get("status") or "resolved"
    comment = resolution.get("resolve_comment") or ""
    changes = [CHANGES[t] for t in sorted(tactic_ids(pack)) if t in CHANGES]

    return {
        "summary": (
            f"Incident {pack.incident_id} ({pack.incident.get('incident_name')}) was "
            f"closed as {status}. It began with '{first.get('name')}' "
            f"({first['fact']}) and spanned {len(pack.alert_ids)} alert(s)."
        ),
        "timeline": [
            {"time": a.get("time"), "fact": a["fact"], "event": a.get("name")}
            for a in pack.alerts
        ],
        "actions_taken": list(actions_taken) or ["none recorded in the appliance"],
        "root_cause": f"Likely initial access: {vector}; first malicious step "
        f"{first['fact']} ({first.get('name')}).",
        "resolution": f"{status}" + (f": {comment}" if comment else ""),
        "lessons": [
            f"The chain was detected at '{first.get('name')}'; earlier telemetry on "
            "the same host would have shortened the response."
        ],
        "detection_changes": changes[:3],
    }


def article(pack: EvidencePack, content: dict[str, Any]) -> str:
    """Return the knowledge-base article (Markdown) of the closed incident."""
    lines = [
        f"# {pack.incident.get('incident_name') or 'Incident ' + pack.incident_id}",
        "",
        "_AI-generated closure article; verify before reuse._",
        "",
        content["summary"],
        "",
        "## Timeline",
        *(f"- {t['time']} {t['event']} ({t['fact']})" for t in content["timeline"]),
        "",
        "## Root cause",
        content["root_cause"],
        "",
        "## Actions taken",
        *(f"- {a}" for a in content["actions_taken"]),
        "",
        "## Resolution",
        content["resolution"],
        "",
        "## Lessons",
        *(f"- {item}" for item in content["lessons"]),
        "",
        "## Suggested policy and detection changes",
        *(f"- {item}" for item in content["detection_changes"]),
        "",
        "Techniques: " + ", ".join(pack.technique_ids),
    ]

    return "\n".join(lines) + "\n"


def answer_schema(seen: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON schema of the model's closure answer."""
    return schema.record(
        summary=schema.text(500),
        lessons=schema.items(schema.text(200), 3),
        detection_changes=schema.items(schema.text(200), 3),
    )


def run(
    pack: EvidencePack,
    narrator: Narrator,
    resolution: dict[str, Any],
    actions_taken: Sequence[str] = (),
) -> TaskResult:
    """Write the closure summary and the knowledge-base article."""
    started = time.perf_counter()
    content = deterministic(pack, resolution, actions_taken)
    shown = str(resolution.get("status") or "resolved")
    narration = narrator.narrate(
        "closure", pack, INSTRUCTIONS, answer_schema, data={"resolution": shown}
    )
    notes: list[str] = []
    dropped = 0
    if narration is not None:
        answer = narration.answer
        content["summary"] = answer.get("summary") or content["summary"]
        for key in ("lessons", "detection_changes"):
            extra = [s for s in answer.get(key) or [] if s]
            content[key] = list(dict.fromkeys(content[key] + extra))[:4]
        notes += narration.notes
        dropped = narration.dropped_claims
    content["kb_article"] = article(pack, content)
    cited = [t["fact"] for t in content["timeline"]]
    score = confidence(pack, cited, dropped_claims=dropped)

    return assemble(
        "closure", pack, narrator, narration, content, score, cited, notes, started
    )
