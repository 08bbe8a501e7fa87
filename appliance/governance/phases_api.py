"""Rollout phases, automated actions and the effective settings."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth.guard import current_principal, require_role
from appliance.auth.roles import Role
from appliance.db.base import utcnow
from appliance.errors import Conflict, NotFound
from appliance.governance import audit, phases
from appliance.governance.gate import ANY_TASK, Phase
from appliance.governance.tables import AutomatedAction

bp = Blueprint("governance", __name__, url_prefix="/api/v1")


class PhaseOut(BaseModel):
    """A phase set for a tenant and task (``*`` is every task)."""

    tenant: str
    task: str
    phase: Phase
    updated_by: str
    updated_at: dt.datetime


class PhaseList(BaseModel):
    """The default phase and every phase set by an admin."""

    default: Phase
    settings: list[PhaseOut]


class PhaseIn(BaseModel):
    """A phase to set."""

    model_config = {"extra": "forbid"}

    tenant: str = Field(min_length=1, max_length=100)
    task: str = Field(default=ANY_TASK, min_length=1, max_length=64)
    phase: Phase


class ActionOut(BaseModel):
    """A change the gate applied under an automation rule."""

    id: int
    tenant: str
    task: str
    rule: str
    incident_id: str
    incident_severity: str
    confidence: float
    decided_at: dt.datetime
    reverted_at: dt.datetime | None
    reverted_by: str | None


class ActionList(BaseModel):
    """Automated actions, newest first."""

    actions: list[ActionOut]


class SettingsOut(BaseModel):
    """The effective settings, secrets masked."""

    settings: dict[str, str]


def _actor() -> str:
    """Return the caller's name."""
    principal = current_principal()
    return principal.name if principal else "unknown"


@bp.get("/phases")
@document("List rollout phases.", tags=["governance"], responses={200: PhaseList})
@require_role(Role.VIEWER)
def list_phases() -> ResponseReturnValue:
    """Return the default phase and every tenant and task setting."""
    app_state = state(current_app)
    with app_state.db.read_session() as session:
        rows = [
            PhaseOut(
                tenant=r.tenant,
                task=r.task,
                phase=Phase(r.phase),
                updated_by=r.updated_by,
                updated_at=r.updated_at,
            )
            for r in phases.listing(session)
        ]
    body = PhaseList(default=Phase(app_state.settings.rollout_phase), settings=rows)

    return jsonify(body.model_dump(mode="json"))


@bp.put("/phases")
@document(
    "Set the rollout phase of a tenant, or of one of its tasks.",
    tags=["governance"],
    request=PhaseIn,
    responses={200: PhaseOut},
)
@require_role(Role.ADMIN)
def put_phase() -> ResponseReturnValue:
    """Set a phase (audited)."""
    body = json_body(PhaseIn)
    app_state = state(current_app)
    with app_state.db.session() as session:
        row = phases.set_phase(
            session,
            app_state.settings,
            tenant=body.tenant,
            task=body.task,
            phase=body.phase.value,
            actor=_actor(),
        )
        out = PhaseOut(
            tenant=row.tenant,
            task=row.task,
            phase=Phase(row.phase),
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )

    return jsonify(out.model_dump(mode="json"))


@bp.delete("/phases/<tenant>/<task>")
@document(
    "Remove a phase setting, so the broader one applies.",
    tags=["governance"],
    responses={204: "Removed", 404: "Not set"},
)
@require_role(Role.ADMIN)
def delete_phase(tenant: str, task: str) -> ResponseReturnValue:
    """Remove the setting (audited)."""
    app_state = state(current_app)
    with app_state.db.session() as session:
        phases.clear_phase(
            session, app_state.settings, tenant=tenant, task=task, actor=_actor()
        )

    return "", 204


@bp.get("/automated-actions")
@document(
    "List changes applied under automation rules.",
    tags=["governance"],
    responses={200: ActionList},
)
@require_role(Role.VIEWER)
def list_actions() -> ResponseReturnValue:
    """Return the latest automated actions."""
    with state(current_app).db.read_session() as session:
        rows = session.scalars(
            select(AutomatedAction).order_by(AutomatedAction.id.desc()).limit(200)
        )
        body = ActionList(
            actions=[
                ActionOut.model_validate(
                    {name: getattr(row, name) for name in ActionOut.model_fields}
                )
                for row in rows
            ]
        )

    return jsonify(body.model_dump(mode="json"))


@bp.post("/automated-actions/<int:action_id>/revert")
@document(
    "Record that an analyst reverted an automated change in XDR.",
    tags=["governance"],
    responses={200: ActionOut, 404: "No such action", 409: "Already reverted"},
)
@require_role(Role.ANALYST)
def revert_action(action_id: int) -> ResponseReturnValue:
    """Mark the action reverted (audited); it counts in the impact metrics."""
    app_state = state(current_app)
    with app_state.db.session() as session:
        row = session.get(AutomatedAction, action_id)
        if row is None:
            raise NotFound(f"automated action {action_id} does not exist")
        if row.reverted_at is not None:
            raise Conflict(f"automated action {action_id} is already reverted")
        row.reverted_at = utcnow()
        row.reverted_by = _actor()
        audit.record(
            session,
            actor=row.reverted_by,
            action="automation.revert",
            outcome="success",
            tenant=row.tenant,
            target=f"incident:{row.incident_id}",
            details={"automated_action_id": row.id, "rule": row.rule},
            settings=app_state.settings,
        )
        out = ActionOut.model_validate(
            {name: getattr(row, name) for name in ActionOut.model_fields}
        )

    return jsonify(out.model_dump(mode="json"))


@bp.get("/settings")
@document(
    "Show the effective settings, secrets masked.",
    tags=["governance"],
    responses={200: SettingsOut},
)
@require_role(Role.ADMIN)
def show_settings() -> ResponseReturnValue:
    """Return every setting by environment name, secrets masked."""
    rows = state(current_app).settings.masked()

    return jsonify(SettingsOut(settings={n: v for n, v, _ in rows}).model_dump())
