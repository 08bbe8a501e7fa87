"""Alert clustering over HTTP: submit alerts, list and decide suggestions.

Clustering runs as a ``correlate.cluster`` job, so the web process never loads the
embedding model: ``POST /api/v1/alerts/cluster`` checks every alert at once (a bad
one is a 422 naming it), queues the job and answers 202 with the job's id. The
per-alert result appears on ``GET /api/v1/jobs/<id>``; the suggestions on
``GET /api/v1/alerts/suggestions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth.guard import current_principal, require_role
from appliance.auth.roles import Role
from appliance.correlate import service
from appliance.correlate.alerts import normalize_batch
from appliance.correlate.tables import STATES, CorrelationSuggestion
from appliance.errors import ValidationFailed
from appliance.jobs import queue

bp = Blueprint("correlate", __name__, url_prefix="/api/v1/alerts")


class ClusterRequest(BaseModel):
    """Alerts to cluster, as XDR returns them (``get_alerts`` objects)."""

    alerts: list[dict[str, Any]] = Field(min_length=1)


class ClusterAccepted(BaseModel):
    """A queued clustering job."""

    job_id: int
    status_url: str
    alerts: int
    duplicates: int


class SuggestionOut(BaseModel):
    """A proposed grouped incident with its evidence and decision."""

    id: int
    run_id: str
    cluster_id: str
    title: str
    severity: str
    confidence: float
    evidence: list[str]
    alert_ids: list[str]
    incident_id: str | None
    state: str
    decided_by: str | None
    decided_at: dt.datetime | None
    outbox_id: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: CorrelationSuggestion) -> SuggestionOut:
        """Serialize a suggestion row."""
        return cls(
            id=row.id,
            run_id=row.run_id,
            cluster_id=row.cluster_id,
            title=row.title,
            severity=row.severity,
            confidence=row.confidence,
            evidence=[str(e) for e in row.evidence],
            alert_ids=[str(a) for a in row.alert_ids],
            incident_id=row.incident_id,
            state=row.state,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            outbox_id=row.outbox_id,
            created_at=row.created_at,
        )


class SuggestionList(BaseModel):
    """Suggestions, newest first."""

    suggestions: list[SuggestionOut]


class Decision(BaseModel):
    """An analyst's note on a decision."""

    note: str = Field(default="", max_length=2000)


def _actor() -> str:
    """Return the name of who is calling."""
    principal = current_principal()

    return principal.name if principal else "anonymous"


@bp.post("/cluster")
@document(
    "Queue alerts for clustering into grouped-incident suggestions.",
    tags=["correlation"],
    request=ClusterRequest,
    responses={202: ClusterAccepted, 422: "An alert is invalid"},
)
@require_role(Role.ANALYST)
def cluster() -> ResponseReturnValue:
    """Check the alerts, queue a clustering job and return its id."""
    body = json_body(ClusterRequest)
    app_state = state(current_app)
    batch = normalize_batch(
        body.alerts, max_alerts=app_state.settings.correlate_max_alerts
    )
    with app_state.db.session() as session:
        job, _ = queue.enqueue(session, "correlate.cluster", {"alerts": body.alerts})
        job_id = job.id
    accepted = ClusterAccepted(
        job_id=job_id,
        status_url=f"/api/v1/jobs/{job_id}",
        alerts=len(batch.alerts),
        duplicates=batch.duplicates,
    )

    return jsonify(accepted.model_dump(mode="json")), 202


@bp.get("/suggestions")
@document(
    "List grouped-incident suggestions, optionally by state or run.",
    tags=["correlation"],
    responses={200: SuggestionList},
)
@require_role(Role.VIEWER)
def list_suggestions() -> ResponseReturnValue:
    """Return up to ``limit`` suggestions (default 50), newest first."""
    wanted = request.args.get("state")
    if wanted is not None and wanted not in STATES:
        raise ValidationFailed(f"unknown suggestion state {wanted!r}")
    try:
        limit = min(max(int(request.args.get("limit", "50")), 1), 500)
    except ValueError:
        raise ValidationFailed("limit must be an integer") from None
    app_state = state(current_app)
    statement = (
        select(CorrelationSuggestion)
        .where(CorrelationSuggestion.tenant == app_state.settings.tenant)
        .order_by(CorrelationSuggestion.id.desc())
        .limit(limit)
    )
    if wanted:
        statement = statement.where(CorrelationSuggestion.state == wanted)
    run_id = request.args.get("run_id")
    if run_id:
        statement = statement.where(CorrelationSuggestion.run_id == run_id)
    with app_state.db.read_session() as session:
        rows = [SuggestionOut.of(row) for row in session.scalars(statement)]

    return jsonify(SuggestionList(suggestions=rows).model_dump(mode="json"))


def _decide(suggestion_id: int, *, approve: bool) -> ResponseReturnValue:
    """Record a decision and return the suggestion."""
    body = json_body(Decision)
    app_state = state(current_app)
    with app_state.db.session() as session:
        row = service.decide(
            session,
            app_state.settings,
            suggestion_id,
            actor=_actor(),
            approve=approve,
            note=body.note,
        )
        out = SuggestionOut.of(row)

    return jsonify(out.model_dump(mode="json"))


@bp.post("/suggestions/<int:suggestion_id>/approve")
@document(
    "Approve a suggestion: the grouping goes to XDR through the write-back path.",
    tags=["correlation"],
    request=Decision,
    responses={
        200: SuggestionOut,
        404: "No such suggestion",
        409: "Already decided, or no incident",
    },
)
@require_role(Role.ANALYST)
def approve(suggestion_id: int) -> ResponseReturnValue:
    """Approve and hand the grouping to the governed write-back path."""
    return _decide(suggestion_id, approve=True)


@bp.post("/suggestions/<int:suggestion_id>/reject")
@document(
    "Reject a suggestion; nothing is sent.",
    tags=["correlation"],
    request=Decision,
    responses={200: SuggestionOut, 404: "No such suggestion", 409: "Already decided"},
)
@require_role(Role.ANALYST)
def reject(suggestion_id: int) -> ResponseReturnValue:
    """Reject the suggestion."""
    return _decide(suggestion_id, approve=False)
