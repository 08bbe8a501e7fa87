"""Investigation copilot: next steps and validated XQL hunts from the incident.

The queries are built by :mod:`appliance.xql.hunts` from the incident's own
indicators and validated before they are shown; the model only suggests further
investigative steps, each citing evidence ids.
"""

from __future__ import annotations

import time
from typing import Any

from appliance.tasks import schema
from appliance.tasks.evidence import EvidencePack, public_ips, user_names
from appliance.tasks.narrator import Narrator
from appliance.tasks.result import TaskResult, assemble, confidence
from appliance.tasks.triage import tactic_ids
from appliance.xql.hunts import Indicators, suggest_hunts
from appliance.xql.validator import validate

INSTRUCTIONS = (
    "Task: list the next two to four investigative steps an analyst should take "
    "on this incident, most useful first, each citing the fact ids it follows "
    "from. JSON keys: next_steps (step, evidence)."
)


def indicators(pack: EvidencePack) -> Indicators:
    """Return the incident's indicators the hunting templates can use."""
    return Indicators(
        hosts=pack.entities["hosts"],
        users=user_names(pack),
        hashes=[
            h
            for h in pack.entities["hashes"]
            if pack.hash_files.get(h, "").lower() not in ("cmd.exe", "lsass.exe")
        ][:3],
        remote_ips=public_ips(pack),
        domains=pack.entities["domains"],
        process_names=[
            p for p in pack.entities["process_names"] if p.lower() not in ("lsass.exe",)
        ][:3],
    )


def queries(pack: EvidencePack) -> list[dict[str, Any]]:
    """Return two to five validated XQL hunts built from the incident."""
    found = []
    for hunt in suggest_hunts(indicators(pack), most=5):
        check = validate(hunt.xql)
        if not check.valid:
            continue
        found.append(
            {
                "xql": hunt.xql,
                "dataset": hunt.dataset,
                "valid": True,
                "warnings": [str(w) for w in check.warnings],
            }
        )

    return found


def deterministic(pack: EvidencePack) -> list[dict[str, Any]]:
    """Return next steps that follow from the evidence by fixed rules."""
    steps = []
    first = pack.alerts[0]
    steps.append(
        {
            "step": f"Open the causality view of {first['fact']} and walk the process "
            "tree from the parent process to the last child.",
            "evidence": [first["fact"]],
        }
    )
    tactics = tactic_ids(pack)
    if "TA0006" in tactics or "TA0008" in tactics:
        steps.append(
            {
                "step": "List logons by the accounts involved on other hosts since "
                "the first alert: dumped or stolen credentials get reused.",
                "evidence": [a["fact"] for a in pack.alerts if a.get("user_name")][:3],
            }
        )
    if public_ips(pack) or pack.entities["domains"]:
        steps.append(
            {
                "step": "Check which other hosts talked to the same remote addresses "
                "and domains (suggested queries below).",
                "evidence": [
                    a["fact"]
                    for a in pack.alerts
                    if a.get("chain", {}).get("action_remote_ip")
                ][:3],
            }
        )
    if pack.entities["hashes"]:
        steps.append(
            {
                "step": "Search the fleet for the incident's file hashes and check "
                "their WildFire verdicts.",
                "evidence": [a["fact"] for a in pack.alerts][:3],
            }
        )
    if pack.similar:
        steps.append(
            {
                "step": "Compare with the similar past incident and its resolution.",
                "evidence": [pack.similar[0]["fact"]],
            }
        )

    return steps


def answer_schema(seen: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON schema of the model's next steps."""
    step = schema.record(
        step=schema.text(200),
        evidence=schema.items(schema.choice(schema.fact_ids(seen)), 3),
    )

    return schema.record(next_steps=schema.items(step, 4))


def run(pack: EvidencePack, narrator: Narrator) -> TaskResult:
    """Suggest the next investigative steps and the hunts to run."""
    started = time.perf_counter()
    steps = deterministic(pack)
    narration = narrator.narrate("copilot", pack, INSTRUCTIONS, answer_schema)
    notes: list[str] = []
    dropped = 0
    if narration is not None:
        known = set(pack.fact_ids)
        for item in narration.answer.get("next_steps") or []:
            cited = [f for f in item.get("evidence") or [] if f in known]
            if item.get("step") and cited:
                steps.append({"step": item["step"], "evidence": cited, "by": "model"})
        notes += narration.notes
        dropped = narration.dropped_claims
    content = {"next_steps": steps[:8], "queries": queries(pack)}
    cited = [f for s in steps for f in s["evidence"]]
    score = confidence(pack, cited, dropped_claims=dropped)

    return assemble(
        "copilot", pack, narrator, narration, content, score, cited, notes, started
    )
