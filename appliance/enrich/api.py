"""GET /api/v1/incidents/<id>/context: the enrichment panel of one incident.

The view reads the context the worker stored; nothing is looked up or embedded in
the web process.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.app_state import state
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.enrich.tables import IncidentEnrichment
from appliance.errors import NotFound
from appliance.xdr.tables import XdrIncident

bp = Blueprint("incident_context", __name__, url_prefix="/api/v1/incidents")


class ContextOut(BaseModel):
    """Every source consulted for the incident, what it returned and what failed."""

    incident_id: str
    tenant: str
    status: Literal["enriched", "pending"]
    enriched_at: dt.datetime | None
    failed_sources: int
    context: dict[str, Any] | None


@bp.get("/<incident_id>/context")
@document(
    "Show the enrichment context of an incident: each source, its findings, "
    "its failures, and the filled fields.",
    tags=["incidents"],
    responses={200: ContextOut, 404: "No such incident"},
)
@require_role(Role.VIEWER, scope="incidents")
def incident_context(incident_id: str) -> ResponseReturnValue:
    """Return the stored context, or ``pending`` for a known incident not yet done."""
    app_state = state(current_app)
    tenant = app_state.settings.tenant
    with app_state.db.read_session() as session:
        row = session.scalar(
            select(IncidentEnrichment).where(
                IncidentEnrichment.tenant == tenant,
                IncidentEnrichment.incident_id == incident_id,
            )
        )
        known = row is not None or session.scalar(
            select(XdrIncident.id).where(
                XdrIncident.tenant == tenant, XdrIncident.incident_id == incident_id
            )
        )
    if not known:
        raise NotFound(f"no incident {incident_id!r}")
    out = ContextOut(
        incident_id=incident_id,
        tenant=tenant,
        status="enriched" if row else "pending",
        enriched_at=row.updated_at if row else None,
        failed_sources=row.failed_sources if row else 0,
        context=row.context if row else None,
    )

    return jsonify(out.model_dump(mode="json"))
