"""Read-only views of other domains' tables, shaped for the console's pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.tables import AuditEvent, Job, JobState, WorkerHeartbeat
from appliance.enrich.tables import IncidentEnrichment
from appliance.governance.impact import RESULT
from appliance.governance.tables import ImpactEvent
from appliance.llm.tables import ModelActivation, ModelCall
from appliance.retrieval.tables import PastIncident
from appliance.tasks.tables import TaskResultRecord
from appliance.xdr.tables import OutboxEntry, PollCursor, XdrAlert, XdrIncident


@dataclass(frozen=True)
class AuditFilter:
    """What the audit viewer narrows the trail to (empty means any)."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    target: str = ""


def live_workers(session: Session, settings: Settings) -> list[WorkerHeartbeat]:
    """Return the workers seen within the staleness window, newest first."""
    since = utcnow() - dt.timedelta(seconds=settings.worker_stale_seconds)
    return list(
        session.scalars(
            select(WorkerHeartbeat)
            .where(
                WorkerHeartbeat.last_seen_at >= since,
                WorkerHeartbeat.state != "stopped",
            )
            .order_by(WorkerHeartbeat.last_seen_at.desc())
        )
    )


def model_states(workers: list[WorkerHeartbeat]) -> list[dict[str, Any]]:
    """Return each worker's report of its model backend (``info["model"]``)."""
    states = []
    for worker in workers:
        model = (worker.info or {}).get("model")
        if isinstance(model, dict):
            states.append({"worker": worker.worker_id, **model})

    return states


def dead_jobs(session: Session, limit: int = 10) -> list[Job]:
    """Return the most recently dead-lettered jobs."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.state == JobState.DEAD)
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )


def xdr_polling(session: Session) -> list[PollCursor]:
    """Return each tenant's poll cursor (when XDR was last reached)."""
    return list(session.scalars(select(PollCursor).order_by(PollCursor.tenant)))


def outbox_counts(session: Session) -> dict[str, int]:
    """Return the number of write-backs in each outbox state."""
    rows = session.execute(
        select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
    )
    return {str(getattr(state, "value", state)): int(count) for state, count in rows}


def incidents(session: Session, tenant: str, limit: int = 200) -> list[dict[str, Any]]:
    """Return the newest incidents with how many AI outputs each has."""
    outputs = (
        select(TaskResultRecord.incident_id, func.count().label("outputs"))
        .where(TaskResultRecord.tenant == tenant)
        .group_by(TaskResultRecord.incident_id)
        .subquery()
    )
    rows = session.execute(
        select(XdrIncident, outputs.c.outputs)
        .outerjoin(outputs, outputs.c.incident_id == XdrIncident.incident_id)
        .where(XdrIncident.tenant == tenant)
        .order_by(XdrIncident.modification_time.desc(), XdrIncident.id.desc())
        .limit(limit)
    )
    return [{"incident": row, "outputs": int(count or 0)} for row, count in rows]


def incident(session: Session, tenant: str, incident_id: str) -> XdrIncident | None:
    """Return one stored incident."""
    return session.scalar(
        select(XdrIncident).where(
            XdrIncident.tenant == tenant, XdrIncident.incident_id == incident_id
        )
    )


def alerts(session: Session, tenant: str, incident_id: str) -> list[XdrAlert]:
    """Return an incident's alerts, oldest detection first."""
    return list(
        session.scalars(
            select(XdrAlert)
            .where(XdrAlert.tenant == tenant, XdrAlert.incident_id == incident_id)
            .order_by(XdrAlert.detection_timestamp, XdrAlert.id)
        )
    )


def outputs(session: Session, tenant: str, incident_id: str) -> list[TaskResultRecord]:
    """Return every AI output stored for an incident, newest first."""
    return list(
        session.scalars(
            select(TaskResultRecord)
            .where(
                TaskResultRecord.tenant == tenant,
                TaskResultRecord.incident_id == incident_id,
            )
            .order_by(TaskResultRecord.id.desc())
        )
    )


def output(session: Session, output_id: int) -> TaskResultRecord | None:
    """Return one AI output."""
    return session.get(TaskResultRecord, output_id)


def write_backs(session: Session, tenant: str, incident_id: str) -> list[OutboxEntry]:
    """Return what the appliance queued or sent to XDR for an incident."""
    return list(
        session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.tenant == tenant, OutboxEntry.incident_id == incident_id)
            .order_by(OutboxEntry.id.desc())
        )
    )


def audit_events(
    session: Session, wanted: AuditFilter, limit: int = 200
) -> list[AuditEvent]:
    """Return the newest audit rows that match the filter."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if wanted.actor:
        statement = statement.where(AuditEvent.actor == wanted.actor)
    if wanted.action:
        statement = statement.where(AuditEvent.action.startswith(wanted.action))
    if wanted.outcome:
        statement = statement.where(AuditEvent.outcome == wanted.outcome)
    if wanted.target:
        statement = statement.where(AuditEvent.target == wanted.target)

    return list(session.scalars(statement))


def activations(session: Session, limit: int = 10) -> list[ModelActivation]:
    """Return the newest model activation requests."""
    return list(
        session.scalars(
            select(ModelActivation).order_by(ModelActivation.id.desc()).limit(limit)
        )
    )


def call_statistics(session: Session, hours: int = 24) -> list[dict[str, Any]]:
    """Return per model: calls, failures and tokens a second over recent hours."""
    since = utcnow() - dt.timedelta(hours=hours)
    failed = func.sum(case((ModelCall.outcome != "ok", 1), else_=0))
    rows = session.execute(
        select(
            ModelCall.model_name,
            func.count(),
            failed,
            func.sum(ModelCall.completion_tokens),
            func.sum(ModelCall.duration_s),
        )
        .where(ModelCall.started_at >= since)
        .group_by(ModelCall.model_name)
        .order_by(ModelCall.model_name)
    )
    stats = []
    for name, calls, failures, tokens, seconds in rows:
        stats.append(
            {
                "model": name,
                "calls": int(calls),
                "failures": int(failures or 0),
                "tokens_per_second": (
                    round(float(tokens or 0) / float(seconds), 1) if seconds else None
                ),
            }
        )

    return stats


def time_to_first_result_by_day(session: Session, days: int = 7) -> dict[str, float]:
    """Return, per day, the mean minutes from incident creation to an AI result."""
    since = utcnow() - dt.timedelta(days=days)
    rows = session.execute(
        select(ImpactEvent.occurred_at, ImpactEvent.incident_created_at).where(
            ImpactEvent.kind == RESULT,
            ImpactEvent.occurred_at >= since,
            ImpactEvent.incident_created_at.is_not(None),
        )
    )
    spans: dict[str, list[float]] = {}
    for occurred, created in rows:
        if created is None:
            continue
        seconds = (_aware(occurred) - _aware(created)).total_seconds()
        spans.setdefault(_aware(occurred).date().isoformat(), []).append(seconds)

    return {
        day[5:]: round(sum(values) / len(values) / 60, 1)
        for day, values in sorted(spans.items())
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    """Return ``moment`` with UTC attached when the database dropped the zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def incident_reply(session: Session, tenant: str, incident_id: str) -> dict[str, Any]:
    """Rebuild the ``get_incident_extra_data`` reply from the stored snapshot."""
    row = incident(session, tenant, incident_id)
    if row is None:
        return {}

    return {
        "incident": {"incident_id": incident_id, **dict(row.incident or {})},
        "alerts": {
            "data": [dict(a.data or {}) for a in alerts(session, tenant, incident_id)]
        },
        "network_artifacts": {"data": list(row.network_artifacts or [])},
        "file_artifacts": {"data": list(row.file_artifacts or [])},
    }


def enrichment(
    session: Session, tenant: str, incident_id: str
) -> dict[str, Any] | None:
    """Return the stored enrichment context of an incident, if enrichment ran."""
    row = session.scalar(
        select(IncidentEnrichment).where(
            IncidentEnrichment.tenant == tenant,
            IncidentEnrichment.incident_id == incident_id,
        )
    )
    return None if row is None else dict(row.context)


def past_incidents_sharing(
    session: Session,
    tenant: str,
    incident_id: str,
    techniques: list[str],
    limit: int = 5,
    scanned: int = 2000,
) -> list[dict[str, Any]]:
    """Return closed incidents that share ATT&CK techniques, most shared first.

    The worker's similarity search needs the embedding model and the FAISS index,
    which the web process never loads; technique overlap is the database's view.
    """
    wanted = set(techniques)
    if not wanted:
        return []
    rows = session.scalars(
        select(PastIncident)
        .where(PastIncident.tenant == tenant, PastIncident.incident_id != incident_id)
        .order_by(PastIncident.closed_at.desc())
        .limit(scanned)
    )
    ranked: list[tuple[float, PastIncident, list[str]]] = []
    for row in rows:
        shared = sorted(wanted & set(row.techniques or []))
        if shared:
            overlap = len(shared) / len(wanted | set(row.techniques or []))
            ranked.append((overlap, row, shared))
    ranked.sort(key=lambda r: (-r[0], r[1].incident_id))

    return [
        {
            "incident_id": row.incident_id,
            "closed_at": row.closed_at,
            "resolution": row.resolution,
            "summary": row.summary,
            "shared": shared,
            "overlap": round(overlap, 2),
        }
        for overlap, row, shared in ranked[:limit]
    ]


def jobs_finished_since(session: Session, since: dt.datetime) -> int:
    """Return how many jobs finished (done or dead) since ``since``."""
    return int(
        session.scalar(
            select(func.count()).select_from(Job).where(Job.finished_at >= since)
        )
        or 0
    )
