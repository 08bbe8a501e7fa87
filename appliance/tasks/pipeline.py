"""Run the incident tasks for one incident: pack, narrate, ground, store, write back.

:func:`analyze` is the whole analysis of one incident given its XDR ``reply``; the
job handler and ``appliance triage FILE`` both call it. :func:`store_results`
saves each result with its prompt record and queues its write-back to XDR through
:func:`appliance.xdr.writeback.queue_write_back`, which asks the governance gate.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.governance import impact
from appliance.llm.backend import Options
from appliance.privacy.scrubber import Scrubber
from appliance.privacy.vault import PseudonymVault
from appliance.tasks import closure, copilot, response, root_cause, triage
from appliance.tasks.evidence import EvidencePack, build_pack
from appliance.tasks.narrator import PROMPT_VERSION, Model, Narrator
from appliance.tasks.result import TaskResult
from appliance.tasks.tables import TaskResultRecord

logger = logging.getLogger(__name__)

TASKS = ("triage", "root_cause", "copilot", "response")
# The severities ``update_incident`` accepts as ``manual_severity``.
CHANGEABLE_SEVERITIES = frozenset({"low", "medium", "high", "critical"})


@dataclass
class IncidentAnalysis:
    """Every task result of one incident and where the time went."""

    pack: EvidencePack
    results: dict[str, TaskResult]
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form printed by ``appliance triage``."""
        return {
            "incident_id": self.pack.incident_id,
            "ai_generated": True,
            "evidence": {
                "tokens": self.pack.tokens,
                "budget": self.pack.budget,
                "facts": self.pack.fact_ids,
                "compaction": self.pack.compaction,
            },
            "results": {k: r.as_dict() for k, r in self.results.items()},
            "timings": self.timings,
        }


def narrator_for(
    settings: Settings,
    scrubber: Scrubber,
    vault: PseudonymVault,
    model: Model | None,
    *,
    db: Database | None = None,
    model_name: str | None = None,
    unavailable: str | None = None,
) -> Narrator:
    """Return a narrator with the task options from the settings."""
    options = Options(
        max_tokens=settings.task_max_output_tokens,
        temperature=0.1,
        seed=7,
        timeout_seconds=settings.task_model_timeout_seconds,
    )

    return Narrator(
        model,
        scrubber,
        vault,
        options,
        db=db,
        model_name=model_name,
        unavailable=unavailable,
    )


def is_resolved(reply: Mapping[str, Any]) -> bool:
    """Whether the incident in ``reply`` is resolved (closure applies)."""
    status = str((reply.get("incident") or {}).get("status") or "")

    return status.startswith("resolved")


def analyze(
    reply: Mapping[str, Any],
    narrator: Narrator,
    *,
    tasks: Sequence[str] = TASKS,
    enrichment: Mapping[str, Any] | None = None,
    similar: Sequence[Mapping[str, Any]] = (),
    budget: int = 1500,
    actions_taken: Sequence[str] = (),
) -> IncidentAnalysis:
    """Run ``tasks`` (and closure when the incident is resolved) on one incident."""
    started = time.perf_counter()
    pack = build_pack(reply, enrichment=enrichment, similar=similar, budget=budget)
    packed = time.perf_counter()
    if not pack.alerts:
        raise ValueError("the incident has no alerts to analyze")
    runners = {
        "triage": triage.run,
        "root_cause": root_cause.run,
        "copilot": copilot.run,
        "response": response.run,
    }
    results: dict[str, TaskResult] = {}
    for name in tasks:
        if name in runners:
            results[name] = runners[name](pack, narrator)
    if is_resolved(reply) or "closure" in tasks:
        incident = reply.get("incident") or {}
        results["closure"] = closure.run(
            pack,
            narrator,
            {
                "status": incident.get("status"),
                "resolve_comment": incident.get("resolve_comment"),
            },
            actions_taken,
        )
    total = time.perf_counter() - started
    timings = {
        "evidence_pack_s": round(packed - started, 4),
        "model_s": round(narrator.model_seconds, 3),
        "total_s": round(total, 3),
        "outside_model_share": round(
            (total - narrator.model_seconds) / total if total else 0.0, 4
        ),
    }

    return IncidentAnalysis(pack, results, timings)


def comment_text(result: TaskResult) -> str:
    """Return the comment posted to the XDR incident for a task result."""
    body = result.as_dict()
    lines = [
        f"{result.task.replace('_', ' ').title()} ({result.source}, "
        f"confidence {result.confidence:.2f})"
    ]
    for key in ("title", "summary", "hypothesis"):
        if body.get(key):
            lines.append(str(body[key]))
    if result.task == "triage":
        severity = body["severity"]
        lines.append(
            f"Suggested severity: {severity['suggested']} ({severity['reason']})"
        )
        lines += [
            f"{s['step']}. {s['what']} [{s['fact']}]" for s in body["attack_chain"]
        ]
    if result.task == "response":
        lines += [
            f"{a['order']}. {a['action']} {a['target']}: {a['rationale']}"
            " (not executed)"
            for a in body["actions"]
        ]
    if result.task == "copilot":
        lines += [f"- {s['step']}" for s in body["next_steps"]]
        lines += [f"Query:\n{q['xql']}" for q in body["queries"][:2]]
    # update_incident takes no custom fields, so they travel in the comment.
    for name, value in (body.get("custom_fields") or {}).items():
        lines.append(f"{name}: {value}")
    lines.append("Evidence: " + ", ".join(result.evidence_ids))

    return "\n".join(lines)


def store_results(
    session: Session,
    settings: Settings,
    analysis: IncidentAnalysis,
    *,
    tenant: str,
    incident_severity: str,
    version: str,
    job_id: int | None = None,
    actor: str = "appliance",
    correlation_id: str | None = None,
) -> list[int]:
    """Store every result and queue its write-back; return the stored row ids.

    Write-backs are keyed by tenant, incident, task and incident version, so a
    retried job queues each one once. The gate decides whether each is sent, waits
    for approval or stays a draft.
    """
    from appliance.governance.gate import WriteBackRequest
    from appliance.xdr.writeback import queue_write_back

    created = analysis.pack.incident.get("creation_time")
    created_at = (
        dt.datetime.fromtimestamp(int(created) / 1000, dt.UTC)
        if isinstance(created, int | float) and created > 0
        else None
    )
    ids = []
    for name, result in analysis.results.items():
        row = TaskResultRecord(
            tenant=tenant,
            incident_id=result.incident_id,
            task=name,
            source=result.source,
            confidence=result.confidence,
            ai_generated=True,
            result=result.as_dict(),
            evidence_ids=result.evidence_ids,
            prompt_record_id=result.prompt_record_id,
            model_name=result.model,
            prompt_version=PROMPT_VERSION,
            job_id=job_id,
        )
        session.add(row)
        session.flush()
        ids.append(row.id)
        impact.note_ai_result(
            session,
            tenant=tenant,
            incident_id=result.incident_id,
            task=name,
            incident_created_at=created_at,
        )
        key = f"tasks:{tenant}:{result.incident_id}:{name}:{version}"
        details = {"task_result_id": row.id, "evidence_ids": result.evidence_ids}
        queue_write_back(
            session,
            settings,
            WriteBackRequest(
                tenant=tenant,
                task=name,
                kind="comment",
                incident_id=result.incident_id,
                incident_severity=incident_severity,
                confidence=result.confidence,
                details=details,
            ),
            idempotency_key=f"{key}:comment",
            text=comment_text(result),
            actor=actor,
            correlation_id=correlation_id,
        )
        if name == "triage":
            _propose_severity(
                session,
                settings,
                result,
                tenant=tenant,
                incident_severity=incident_severity,
                key=f"{key}:severity",
                actor=actor,
                correlation_id=correlation_id,
            )
    logger.info(
        "incident task results stored",
        extra={"incident_id": analysis.pack.incident_id, "results": len(ids)},
    )

    return ids


def _propose_severity(
    session: Session,
    settings: Settings,
    result: TaskResult,
    *,
    tenant: str,
    incident_severity: str,
    key: str,
    actor: str,
    correlation_id: str | None,
) -> None:
    """Queue the triage's severity as a change when it differs from XDR's.

    A severity change alters the incident, so the gate holds it for a human in
    every phase but automate, and always for high and critical incidents.
    """
    from appliance.governance.gate import WriteBackRequest
    from appliance.xdr.writeback import queue_write_back

    suggested = str(result.content["severity"]["suggested"])
    if suggested not in CHANGEABLE_SEVERITIES or suggested == incident_severity:
        return
    reason = str(result.content["severity"]["reason"])
    queue_write_back(
        session,
        settings,
        WriteBackRequest(
            tenant=tenant,
            task=result.task,
            kind="severity",
            incident_id=result.incident_id,
            incident_severity=incident_severity,
            confidence=result.confidence,
            details={
                "manual_severity": suggested,
                "from": incident_severity,
                "reason": reason,
                "evidence_ids": result.evidence_ids,
            },
        ),
        idempotency_key=key,
        text=f"Severity {incident_severity} -> {suggested}: {reason}",
        change={"manual_severity": suggested},
        actor=actor,
        correlation_id=correlation_id,
    )
