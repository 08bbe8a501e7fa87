"""The ``incident.analyze`` job: run the incident tasks on a stored snapshot."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.errors import PermanentJobError
from appliance.jobs import queue
from appliance.jobs.registry import JobContext, job_handler
from appliance.privacy.scrubber import Scrubber
from appliance.privacy.vault import PseudonymVault
from appliance.tasks.pipeline import (
    IncidentAnalysis,
    analyze,
    narrator_for,
    store_results,
)

logger = logging.getLogger(__name__)


def snapshot_reply(session: Session, tenant: str, incident_id: str) -> dict[str, Any]:
    """Rebuild the ``get_incident_extra_data`` reply from the stored snapshot.

    Raises:
        PermanentJobError: no snapshot of the incident is stored.
    """
    from appliance.xdr.tables import XdrAlert, XdrIncident

    row = session.scalar(
        select(XdrIncident).where(
            XdrIncident.tenant == tenant, XdrIncident.incident_id == incident_id
        )
    )
    if row is None:
        raise PermanentJobError(f"no stored snapshot of incident {incident_id}")
    alerts = session.scalars(
        select(XdrAlert)
        .where(XdrAlert.tenant == tenant, XdrAlert.incident_id == incident_id)
        .order_by(XdrAlert.detection_timestamp, XdrAlert.alert_id)
    )

    return {
        "incident": dict(row.incident),
        "alerts": {"data": [dict(a.data) for a in alerts]},
        "network_artifacts": {"data": list(row.network_artifacts)},
        "file_artifacts": {"data": list(row.file_artifacts)},
    }


def enrichment_of(settings: Settings, reply: dict[str, Any]) -> dict[str, Any]:
    """Return the enrichment context of the incident in ``reply`` as a dict."""
    from appliance.enrich.entities import entities_from_alerts
    from appliance.enrich.service import EnrichmentService, sources_from_settings

    incident = reply["incident"]
    artifacts = [
        *(reply.get("network_artifacts") or {}).get("data", []),
        *(reply.get("file_artifacts") or {}).get("data", []),
    ]
    entities = entities_from_alerts(
        (reply.get("alerts") or {}).get("data", []),
        incident_id=str(incident.get("incident_id")),
        tenant=settings.tenant,
        artifacts=artifacts,
    )
    service = EnrichmentService(sources_from_settings(settings))

    return service.enrich(entities).model_dump(mode="json")


def similar_to(
    ctx: JobContext, reply: dict[str, Any], scrubber: Scrubber, vault: PseudonymVault
) -> list[dict[str, Any]]:
    """Return similar past incidents, or none when no index exists yet."""
    from appliance.retrieval.document import incident_text
    from appliance.retrieval.jobs import similar_incidents

    service = similar_incidents(ctx.db, ctx.settings)
    if service.current() is None:
        return []
    incident = reply["incident"]
    name = str(incident.get("incident_name") or incident.get("description") or "")
    techniques = [
        str(t).split(" ")[0]
        for t in incident.get("mitre_techniques_ids_and_names") or []
    ]
    text = incident_text(scrubber.scrub(name, vault).data, techniques, {})
    found = service.similar(
        text,
        tenant=ctx.settings.tenant,
        exclude_incident_id=str(incident.get("incident_id")),
    )

    return [s.as_dict() for s in found]


def closed_incident_payload(
    analysis: IncidentAnalysis, scrubber: Scrubber, vault: PseudonymVault, tenant: str
) -> dict[str, Any]:
    """Return the ``retrieval.incident_closed`` payload: the article, scrubbed."""
    closure = analysis.results["closure"].as_dict()
    pack = analysis.pack
    entities = scrubber.scrub(
        {"hosts": pack.entities["hosts"], "users": pack.entities["users"]}, vault
    ).data

    return {
        "tenant": tenant,
        "incident_id": pack.incident_id,
        "summary": scrubber.scrub(closure["summary"], vault).data,
        "techniques": pack.technique_ids,
        "entities": entities,
        "resolution": str(pack.incident.get("status") or "resolved")[:64],
        "closure_notes": scrubber.scrub(closure["kb_article"], vault).data,
    }


@job_handler("incident.analyze")
def analyze_incident(ctx: JobContext) -> dict[str, Any]:
    """Analyze one stored incident and queue its labelled results for XDR."""
    from appliance.llm.activation import current_runtime
    from appliance.privacy.service import incident_vault, scrubber_for, store_vault

    incident_id = str(ctx.payload.get("incident_id") or "")
    if not incident_id:
        raise PermanentJobError("the job payload has no incident_id")
    tenant = str(ctx.payload.get("tenant") or ctx.settings.tenant)
    version = str(ctx.payload.get("modification_time") or "unknown")
    with ctx.db.read_session() as session:
        reply = snapshot_reply(session, tenant, incident_id)
    enrichment = enrichment_of(ctx.settings, reply)
    scrubber = scrubber_for(ctx.settings)
    with ctx.db.session() as session:
        vault = incident_vault(session, ctx.settings, scrubber, incident_id)
    try:
        model: Any = current_runtime()
        unavailable = None
    except Exception as exc:  # no runtime: every task falls back to its rules
        model, unavailable = None, f"{type(exc).__name__}: {exc}"
    narrator = narrator_for(
        ctx.settings,
        scrubber,
        vault,
        model,
        db=ctx.db,
        model_name=(model.info().get("model") if model is not None else None),
        unavailable=unavailable,
    )
    try:
        similar = similar_to(ctx, reply, scrubber, vault)
    except Exception:  # a missing or broken index must not stop the analysis
        logger.warning(
            "similar incidents unavailable",
            extra={"incident_id": incident_id},
            exc_info=True,
        )
        similar = []
    analysis = analyze(
        reply,
        narrator,
        enrichment=enrichment,
        similar=similar,
        budget=ctx.settings.task_evidence_budget_tokens,
    )
    closed = None
    if "closure" in analysis.results:
        closed = closed_incident_payload(analysis, scrubber, vault, tenant)
    severity = str(reply["incident"].get("severity") or "unknown").lower()

    def write(session: Session) -> None:
        store_vault(session, ctx.settings, vault)
        store_results(
            session,
            ctx.settings,
            analysis,
            tenant=tenant,
            incident_severity=severity,
            version=version,
            job_id=ctx.job_id,
            actor=f"worker:{ctx.worker_id}",
            correlation_id=ctx.correlation_id,
        )
        if closed is not None:
            # The knowledge-base article joins the similar-incident index.
            queue.enqueue(
                session,
                "retrieval.incident_closed",
                closed,
                idempotency_key=f"closed:{tenant}:{incident_id}:{version}",
                correlation_id=ctx.correlation_id,
            )

    ctx.defer(write)

    return {
        "incident_id": incident_id,
        "tasks": {k: r.source for k, r in analysis.results.items()},
        "evidence_tokens": analysis.pack.tokens,
        **analysis.timings,
    }
