"""The worker's enrichment job: consult every source and store the context."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.enrich.entities import entities_from_alerts
from appliance.enrich.model import EnrichmentContext, IncidentEntities
from appliance.enrich.service import EnrichmentService, sources_from_settings
from appliance.enrich.tables import IncidentEnrichment
from appliance.errors import PermanentJobError
from appliance.jobs.registry import JobContext, job_handler


def store_context(session: Session, context: EnrichmentContext) -> IncidentEnrichment:
    """Insert or replace the stored context of the incident; the caller commits."""
    if context.incident_id is None:
        raise ValueError("an incident id is needed to store a context")
    row = session.scalar(
        select(IncidentEnrichment).where(
            IncidentEnrichment.tenant == context.tenant,
            IncidentEnrichment.incident_id == context.incident_id,
        )
    )
    if row is None:
        row = IncidentEnrichment(tenant=context.tenant, incident_id=context.incident_id)
        session.add(row)
    row.context = context.model_dump(mode="json")
    row.failed_sources = len(context.failed)
    session.flush()

    return row


def entities_of_stored_incident(
    session: Session, tenant: str, incident_id: str
) -> IncidentEntities | None:
    """Return the entities of an incident the XDR intake stored, or None."""
    from appliance.xdr.tables import XdrAlert, XdrIncident

    incident = session.scalar(
        select(XdrIncident).where(
            XdrIncident.tenant == tenant, XdrIncident.incident_id == incident_id
        )
    )
    if incident is None:
        return None
    alerts = session.scalars(
        select(XdrAlert).where(
            XdrAlert.tenant == tenant, XdrAlert.incident_id == incident_id
        )
    )
    artifacts = [*incident.network_artifacts, *incident.file_artifacts]

    return entities_from_alerts(
        [a.data for a in alerts],
        incident_id=incident_id,
        tenant=tenant,
        artifacts=[a for a in artifacts if isinstance(a, dict)],
    )


@job_handler("enrich.incident")
def enrich_incident(ctx: JobContext) -> dict[str, Any]:
    """Enrich an incident and store its context.

    The payload is either ``{"entities": {...}}`` (any caller, no incident store
    needed) or ``{"incident_id": ...}`` for an incident the XDR intake stored.
    """
    try:
        if "entities" in ctx.payload:
            entities = IncidentEntities.model_validate(ctx.payload["entities"])
        else:
            tenant = ctx.payload.get("tenant") or ctx.settings.tenant
            with ctx.db.read_session() as session:
                found = entities_of_stored_incident(
                    session, tenant, str(ctx.payload["incident_id"])
                )
            if found is None:
                raise PermanentJobError("no stored incident with that id")
            entities = found
    except (KeyError, ValueError) as exc:
        raise PermanentJobError("payload needs 'entities' or 'incident_id'") from exc
    if entities.incident_id is None:
        raise PermanentJobError("entities need an incident_id")
    context = EnrichmentService(sources_from_settings(ctx.settings)).enrich(entities)

    def write(session: Session) -> None:
        store_context(session, context)

    ctx.defer(write)

    return {
        "incident_id": entities.incident_id,
        "sources": {s.source: s.status for s in context.sources},
    }
