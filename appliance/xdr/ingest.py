"""Incident intake: the job that fetches an incident and stores its snapshot.

Both ways in (the connector webhook and the poller) enqueue ``xdr.ingest_incident``
with the same idempotency key for the same incident and modification time, so an
incident reported both ways is fetched once. The handler fetches the incident with
its alerts and artifacts, stores a normalized snapshot, and enqueues
``incident.analyze`` for the analysis tasks, all in the transaction that completes
the job.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.errors import PermanentJobError
from appliance.governance import impact
from appliance.jobs import queue
from appliance.jobs.registry import JobContext, job_handler
from appliance.xdr.client import shared_client
from appliance.xdr.models import Alert, IncidentExtraData
from appliance.xdr.tables import XdrAlert, XdrIncident

logger = logging.getLogger(__name__)

INGEST_KIND = "xdr.ingest_incident"
ANALYZE_KIND = "incident.analyze"
# An incident reported while XDR is unreachable waits the outage out instead of
# being dead-lettered after a few quick attempts: ingest retries span an hour.
INGEST_RETRY_WINDOW_SECONDS = 3600.0


def ingest_max_attempts(settings: Settings) -> int:
    """Return the attempts of an ingest job: enough to retry for an hour."""
    policy = queue.RetryPolicy(
        settings.job_backoff_base_seconds, settings.job_backoff_max_seconds
    )

    return policy.attempts_within(INGEST_RETRY_WINDOW_SECONDS)


def ingest_key(tenant: str, incident_id: str, version: str | int) -> str:
    """Return the idempotency key of ingesting one version of an incident."""
    return f"{INGEST_KIND}:{tenant}:{incident_id}:{version}"


def _technique(alert: Alert) -> str | None:
    value = alert.mitre_technique_id_and_name
    if isinstance(value, list):
        return "; ".join(value) or None
    return value


def store_snapshot(session: Session, tenant: str, extra: IncidentExtraData) -> int:
    """Insert or replace the snapshot of an incident and its alerts; return its row id.

    The incident and alert payloads are stored, never logged.
    """
    incident = extra.incident
    row = session.scalar(
        select(XdrIncident).where(
            XdrIncident.tenant == tenant,
            XdrIncident.incident_id == incident.incident_id,
        )
    )
    if row is None:
        row = XdrIncident(tenant=tenant, incident_id=incident.incident_id)
        session.add(row)
    row.modification_time = incident.modification_time
    row.status = incident.status
    row.severity = incident.severity
    row.name = incident.incident_name or incident.description
    row.alert_count = extra.alerts.total_count
    row.incident = incident.model_dump(mode="json")
    row.network_artifacts = [
        a.model_dump(mode="json") for a in extra.network_artifacts.data
    ]
    row.file_artifacts = [a.model_dump(mode="json") for a in extra.file_artifacts.data]
    row.fetched_at = utcnow()

    alert_ids = [a.alert_id for a in extra.alerts.data]
    session.execute(
        delete(XdrAlert).where(
            XdrAlert.tenant == tenant,
            (XdrAlert.incident_id == incident.incident_id)
            | XdrAlert.alert_id.in_(alert_ids),
        )
    )
    for alert in extra.alerts.data:
        session.add(
            XdrAlert(
                tenant=tenant,
                incident_id=incident.incident_id,
                alert_id=alert.alert_id,
                detection_timestamp=alert.detection_timestamp,
                severity=alert.severity,
                name=alert.name,
                category=alert.category,
                host_name=alert.host_name,
                user_name=alert.user_name,
                mitre_technique=_technique(alert),
                data=alert.model_dump(mode="json"),
            )
        )
    session.flush()

    return row.id


@job_handler(INGEST_KIND)
def ingest_incident(ctx: JobContext) -> dict[str, Any]:
    """Fetch an incident from XDR, store its snapshot and enqueue its analysis."""
    incident_id = str(ctx.payload.get("incident_id") or "")
    if not incident_id:
        raise PermanentJobError("the job payload has no incident_id")
    tenant = ctx.settings.tenant
    extra = shared_client(ctx.settings).get_incident_extra_data(incident_id)
    version = extra.incident.modification_time or "unknown"

    created = extra.incident.creation_time

    def write(session: Session) -> None:
        store_snapshot(session, tenant, extra)
        impact.note_incident(
            session,
            tenant=tenant,
            incident_id=incident_id,
            incident_created_at=(
                dt.datetime.fromtimestamp(created / 1000, dt.UTC) if created else None
            ),
        )
        queue.enqueue(
            session,
            ANALYZE_KIND,
            {
                "tenant": tenant,
                "incident_id": incident_id,
                "modification_time": version,
            },
            idempotency_key=f"{ANALYZE_KIND}:{tenant}:{incident_id}:{version}",
            correlation_id=ctx.correlation_id,
        )

    ctx.defer(write)
    logger.info(
        "incident fetched",
        extra={"incident_id": incident_id, "alerts": extra.alerts.total_count},
    )

    return {
        "incident_id": incident_id,
        "modification_time": version,
        "alerts": extra.alerts.total_count,
        "severity": extra.incident.severity,
    }
