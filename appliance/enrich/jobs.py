"""The worker's enrichment job: consult every source and store the context."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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


@job_handler("enrich.incident")
def enrich_incident(ctx: JobContext) -> dict[str, Any]:
    """Enrich the incident whose entities are the payload, and store the context."""
    try:
        entities = IncidentEntities.model_validate(ctx.payload["entities"])
    except (KeyError, ValueError) as exc:
        raise PermanentJobError("payload needs valid 'entities'") from exc
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
