"""Incidents with their AI status, one incident's full picture, and feedback."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue

from appliance.admin import queries
from appliance.admin.blueprint import actor, app_state, bp, form_text, page
from appliance.api.openapi import document
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.errors import NotFound, ValidationFailed
from appliance.governance import approvals, feedback
from appliance.governance.feedback import Rating
from appliance.tasks.evidence import build_pack


@bp.get("/incidents")
@document(
    "List the stored incidents, newest first, with how many AI outputs each has.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.VIEWER, scope="incidents")
def incident_list() -> ResponseReturnValue:
    """List the stored incidents, newest first, with how many AI outputs each has."""
    state = app_state()
    with state.db.read_session() as session:
        rows = queries.incidents(session, state.settings.tenant)

    return page("incidents.html", rows=rows)


@bp.get("/incidents/<incident_id>")
@document(
    "Show an incident's alerts, evidence, context, AI outputs and write-backs.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.VIEWER, scope="incidents")
def incident_page(incident_id: str) -> ResponseReturnValue:
    """Show an incident's alerts, evidence, context, AI outputs and write-backs.

    The evidence pack is rebuilt from the stored snapshot and enrichment; the pack
    is deterministic, so its alert and technique ids (AL1, TE1) are the ones the
    AI outputs cite.
    """
    state = app_state()
    tenant = state.settings.tenant
    with state.db.read_session() as session:
        incident = queries.incident(session, tenant, incident_id)
        if incident is None:
            raise NotFound(f"incident {incident_id} is not stored here")
        enrichment = queries.enrichment(session, tenant, incident_id)
        pack = build_pack(
            queries.incident_reply(session, tenant, incident_id),
            enrichment=enrichment,
            budget=state.settings.task_evidence_budget_tokens,
        )
        context: dict[str, Any] = {
            "incident": incident,
            "pack": pack,
            "enrichment": enrichment,
            "similar": queries.past_incidents_sharing(
                session,
                tenant,
                incident_id,
                pack.technique_ids,
                limit=state.settings.retrieval_top_k,
            ),
            "alerts": queries.alerts(session, tenant, incident_id),
            "outputs": queries.outputs(session, tenant, incident_id),
            "write_backs": queries.write_backs(session, tenant, incident_id),
            "approvals": [
                a
                for a in approvals.listing(session, limit=500)
                if a.incident_id == incident_id
            ],
        }

    return page("incident.html", ratings=[r.value for r in Rating], **context)


@bp.post("/outputs/<int:output_id>/feedback")
@document(
    "Record an analyst's rating of one AI output.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ANALYST, scope="feedback")
def give_feedback(output_id: int) -> ResponseReturnValue:
    """Record an analyst's rating of one AI output."""
    state = app_state()
    try:
        rating = Rating(form_text("rating", limit=16))
    except ValueError as exc:
        raise ValidationFailed("choose useful, inaccurate or harmful") from exc
    with state.db.session() as session:
        row = queries.output(session, output_id)
        if row is None or row.tenant != state.settings.tenant:
            raise NotFound(f"AI output {output_id} does not exist")
        feedback.give(
            session,
            state.settings,
            actor=actor(),
            tenant=row.tenant,
            output_id=str(row.id),
            task=row.task,
            model=row.model_name or "unknown",
            prompt_version=row.prompt_version,
            rating=rating,
            reason=form_text("reason"),
            prompt_record_id=(
                None if row.prompt_record_id is None else str(row.prompt_record_id)
            ),
            incident_id=row.incident_id,
        )
        incident_id = row.incident_id
    flash(f"Feedback on output {output_id} recorded: {rating.value}.")

    return redirect(url_for("admin.incident_page", incident_id=incident_id), 303)
