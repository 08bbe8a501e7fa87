"""The incident.analyze job on a stored XDR snapshot: results, write-backs, index."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import Job
from appliance.errors import PermanentJobError
from appliance.governance.tables import Approval, ImpactEvent
from appliance.jobs.registry import JobContext
from appliance.tasks.jobs import analyze_incident
from appliance.tasks.tables import TaskResultRecord
from appliance.xdr.ingest import store_snapshot
from appliance.xdr.models import IncidentExtraData
from appliance.xdr.tables import OutboxEntry
from tests.tasks.conftest import sample


def run(db: Database, settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    ctx = JobContext(
        db=db,
        settings=settings,
        worker_id="w",
        job_id=7,
        kind="incident.analyze",
        payload=payload,
        attempt=1,
    )
    result = analyze_incident(ctx)
    with db.session() as session:
        ctx.run_deferred(session)
    return result


def store(db: Database, settings: Settings, reply: dict[str, Any]) -> None:
    with db.session() as session:
        store_snapshot(
            session, settings.tenant, IncidentExtraData.model_validate(reply)
        )


def under_rated(name: str) -> dict[str, Any]:
    """Return a sample incident that XDR rates medium although its evidence is worse."""
    reply = sample(name)
    reply["incident"]["severity"] = "medium"
    return reply


def test_stored_incident_is_analyzed_and_queued_for_write_back(
    db: Database, settings: Settings
) -> None:
    store(db, settings, under_rated("102"))
    payload = {"tenant": settings.tenant, "incident_id": "102", "modification_time": 1}

    result = run(db, settings, payload)
    run(db, settings, payload)

    # No worker model runtime in this process: every task falls back to its rules.
    assert set(result["tasks"].values()) == {"deterministic"}
    with db.read_session() as session:
        rows = list(session.scalars(select(TaskResultRecord)))
        outbox = list(session.scalars(select(OutboxEntry)))
    assert {r.task for r in rows} == {"triage", "root_cause", "copilot", "response"}
    assert all(r.ai_generated and r.job_id == 7 for r in rows)
    triage = next(r for r in rows if r.task == "triage").result
    assert triage["severity"]["suggested"] == "critical"
    # Retried job: results stored twice, but each write-back queued once, as a draft
    # in the default read_only phase: four comments and the severity change.
    assert sorted(o.kind for o in outbox) == ["comment"] * 4 + ["severity"]
    assert {o.state for o in outbox} == {"draft"}
    comment = outbox[0].update_data["comment"]["value"]
    assert comment.startswith("[AI-generated")
    assert "AI_Confidence_Score" in comment


def test_a_severity_change_waits_in_the_approval_queue_with_its_evidence(
    db: Database, settings: Settings
) -> None:
    suggest = replace(settings, rollout_phase="suggest")
    store(db, suggest, under_rated("102"))

    run(db, suggest, {"incident_id": "102", "modification_time": 1})

    with db.read_session() as session:
        change = session.scalar(
            select(OutboxEntry).where(OutboxEntry.kind == "severity")
        )
        comments = session.scalars(
            select(OutboxEntry.state).where(OutboxEntry.kind == "comment")
        ).all()
        approval = session.get(Approval, change.approval_id)
        seen = session.scalars(
            select(ImpactEvent.task).where(ImpactEvent.kind == "ai_result")
        ).all()
        triage = session.scalar(
            select(TaskResultRecord).where(TaskResultRecord.task == "triage")
        )
    assert set(comments) == {"queued"}
    assert change.state == "needs_approval"
    assert change.update_data["manual_severity"] == "critical"
    assert approval.state == "pending"
    assert approval.change["manual_severity"] == "critical"
    assert approval.evidence and approval.evidence == triage.evidence_ids
    assert sorted(seen) == ["copilot", "response", "root_cause", "triage"]


def test_resolved_incident_gets_closure_and_feeds_the_index(
    db: Database, settings: Settings
) -> None:
    reply = sample("103")
    reply["incident"]["status"] = "resolved_true_positive"
    reply["incident"]["resolve_comment"] = "Laptop reimaged, account reset."
    store(db, settings, reply)

    result = run(db, settings, {"incident_id": "103", "modification_time": 2})

    assert "closure" in result["tasks"]
    with db.read_session() as session:
        job = session.scalar(select(Job).where(Job.kind == "retrieval.incident_closed"))
    assert job is not None
    assert "msmith" not in str(job.payload)
    assert job.payload["summary"]
    assert "## Root cause" in job.payload["closure_notes"]


def test_missing_snapshot_is_a_permanent_failure(
    db: Database, settings: Settings
) -> None:
    with pytest.raises(PermanentJobError):
        run(db, settings, {"incident_id": "999"})


def test_list_valued_mitre_fields_are_read(db: Database, settings: Settings) -> None:
    reply = sample("101")
    for alert in reply["alerts"]["data"]:
        alert["mitre_technique_id_and_name"] = [alert["mitre_technique_id_and_name"]]
    store(db, settings, reply)

    run(db, settings, {"incident_id": "101"})

    with db.read_session() as session:
        triage = session.scalar(
            select(TaskResultRecord).where(TaskResultRecord.task == "triage")
        )
    assert triage is not None
    field = triage.result["custom_fields"]["likely_attack_technique"]
    assert field.startswith("T1") and "[" not in field
