"""Approvals, alert-cluster suggestions, the audit trail and rollout phases."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from appliance.admin import queries
from appliance.admin.blueprint import actor, app_state, bp, form_text, page
from appliance.api.openapi import document
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.correlate import service as correlate
from appliance.correlate.tables import CorrelationSuggestion
from appliance.governance import approvals, audit, phases
from appliance.governance.gate import Phase


@bp.get("/approvals")
@document(
    "List pending approvals, then recent decisions, and cluster suggestions.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.VIEWER, scope="approvals")
def approval_queue() -> ResponseReturnValue:
    """List pending approvals, then recent decisions, and cluster suggestions."""
    state = app_state()
    with state.db.read_session() as session:
        pending = approvals.listing(session, "pending")
        decided = [
            a for a in approvals.listing(session, limit=50) if a.state != "pending"
        ]
        suggestions = list(
            session.scalars(
                select(CorrelationSuggestion)
                .where(CorrelationSuggestion.tenant == state.settings.tenant)
                .order_by(CorrelationSuggestion.id.desc())
                .limit(50)
            )
        )

    return page(
        "approvals.html", pending=pending, decided=decided, suggestions=suggestions
    )


@bp.post("/approvals/<int:approval_id>/decide")
@document(
    "Approve or reject one pending change, with the analyst's comment.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ANALYST, scope="approvals")
def decide_approval(approval_id: int) -> ResponseReturnValue:
    """Approve or reject one pending change, with the analyst's comment."""
    state = app_state()
    decision = form_text("decision", limit=10)
    comment = form_text("comment")
    name = actor()
    with state.db.session() as session:
        if decision == "approve":
            approvals.approve(
                session, state.settings, approval_id, actor=name, comment=comment
            )
        else:
            approvals.reject(
                session, state.settings, approval_id, actor=name, comment=comment
            )
    verb = "approved" if decision == "approve" else "rejected"
    flash(f"Approval {approval_id} {verb}.")

    return redirect(url_for("admin.approval_queue"), 303)


@bp.post("/suggestions/<int:suggestion_id>/decide")
@document(
    "Accept or reject one alert-cluster suggestion.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ANALYST, scope="correlate")
def decide_suggestion(suggestion_id: int) -> ResponseReturnValue:
    """Accept or reject one alert-cluster suggestion."""
    state = app_state()
    approve = form_text("decision", limit=10) == "approve"
    with state.db.session() as session:
        row = correlate.decide(
            session,
            state.settings,
            suggestion_id,
            actor=actor(),
            approve=approve,
            note=form_text("comment") or None,
        )
        outcome = row.state
    flash(f"Suggestion {suggestion_id} is now {outcome}.")

    return redirect(url_for("admin.approval_queue"), 303)


@bp.get("/audit")
@document(
    "Show the newest audit rows, filtered by actor, action, outcome or target.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="audit")
def audit_log() -> ResponseReturnValue:
    """Show the newest audit rows, filtered by actor, action, outcome or target."""
    wanted = queries.AuditFilter(
        actor=request.args.get("actor", "").strip()[:200],
        action=request.args.get("action", "").strip()[:100],
        outcome=request.args.get("outcome", "").strip()[:16],
        target=request.args.get("target", "").strip()[:200],
    )
    with app_state().db.read_session() as session:
        events = queries.audit_events(session, wanted)

    return page("audit.html", events=events, wanted=wanted, problems=None)


@bp.post("/audit/verify")
@document(
    "Walk the whole hash chain and its signed anchor; show what does not hold.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="audit")
def verify_audit() -> ResponseReturnValue:
    """Walk the whole hash chain and its signed anchor; show what does not hold."""
    state = app_state()
    with state.db.read_session() as session:
        problems = audit.verify(session, state.settings)
        events = queries.audit_events(session, queries.AuditFilter())

    return page(
        "audit.html", events=events, wanted=queries.AuditFilter(), problems=problems
    )


@bp.get("/settings/phases")
@document(
    "List the rollout phase settings and offer a form to change one.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="governance")
def phase_settings() -> ResponseReturnValue:
    """List the rollout phase settings and offer a form to change one."""
    state = app_state()
    with state.db.read_session() as session:
        rows = phases.listing(session)

    return page(
        "phases.html",
        rows=rows,
        phases=[p.value for p in Phase],
        tenant=state.settings.tenant,
        default_phase=state.settings.rollout_phase,
    )


@bp.post("/settings/phases")
@document(
    "Set the phase of one task (``*`` for all) of a tenant (audited).",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="governance")
def set_phase() -> ResponseReturnValue:
    """Set the phase of one task (``*`` for all) of a tenant (audited)."""
    state = app_state()
    tenant = form_text("tenant", limit=100) or state.settings.tenant
    task = form_text("task", limit=64) or "*"
    phase = form_text("phase", limit=16)
    with state.db.session() as session:
        phases.set_phase(
            session,
            state.settings,
            tenant=tenant,
            task=task,
            phase=phase,
            actor=actor(),
        )
    flash(f"Phase of {task} for {tenant} set to {phase}.")

    return redirect(url_for("admin.phase_settings"), 303)
