"""The audit trail over HTTP: list rows, verify the chain, export for a SIEM."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.api.routing import ROW_ID_MAX
from appliance.app_state import state
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.db.tables import AuditEvent
from appliance.errors import ValidationFailed
from appliance.governance import audit, audit_export

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


class AuditRow(BaseModel):
    """One audit row, with its hashes."""

    id: int
    occurred_at: str
    actor: str
    action: str
    outcome: str
    tenant: str
    target: str | None
    correlation_id: str | None
    details: dict[str, Any]
    prev_hash: str
    row_hash: str


class AuditList(BaseModel):
    """Audit rows, newest first."""

    events: list[AuditRow]


class VerifyOut(BaseModel):
    """Whether the chain and its anchor hold, and where they do not."""

    ok: bool
    problems: list[dict[str, Any]]


def _int_arg(name: str, default: int) -> int:
    """Read an integer query argument no larger than a row id."""
    try:
        value = int(request.args.get(name, str(default)))
    except ValueError:
        raise ValidationFailed(f"{name} must be an integer") from None
    # A larger number would overflow the database driver rather than match nothing.
    if abs(value) > ROW_ID_MAX:
        raise ValidationFailed(f"{name} must be at most {ROW_ID_MAX}")

    return value


@bp.get("")
@document("List audit rows, newest first.", tags=["audit"], responses={200: AuditList})
@require_role(Role.ANALYST)
def list_events() -> ResponseReturnValue:
    """Return up to ``limit`` rows, filtered by ``action``, ``actor`` or ``target``."""
    limit = min(max(_int_arg("limit", 100), 1), 1000)
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    for column in ("action", "actor", "target", "correlation_id"):
        value = request.args.get(column)
        if value:
            statement = statement.where(getattr(AuditEvent, column) == value)
    with state(current_app).db.read_session() as session:
        rows = [audit_export.as_json(event) for event in session.scalars(statement)]

    return jsonify(AuditList.model_validate({"events": rows}).model_dump(mode="json"))


@bp.get("/verify")
@document(
    "Verify the audit chain and its signed anchor.",
    tags=["audit"],
    responses={200: VerifyOut},
)
@require_role(Role.ADMIN)
def verify_chain() -> ResponseReturnValue:
    """Walk the whole chain and report every problem."""
    app_state = state(current_app)
    with app_state.db.read_session() as session:
        problems = audit.verify(session, app_state.settings)
    body = VerifyOut(
        ok=not problems,
        problems=[{"event_id": p.event_id, "reason": p.reason} for p in problems],
    )

    return jsonify(body.model_dump())


@bp.get("/export")
@document(
    "Export audit rows after since_id as CEF syslog lines or JSON lines.",
    tags=["audit"],
    content_type="text/plain",
)
@require_role(Role.ADMIN)
def export_events() -> ResponseReturnValue:
    """Return rows after ``since_id`` in ``format`` cef or jsonl."""
    fmt = request.args.get("format", "jsonl")
    if fmt not in {"cef", "jsonl"}:
        raise ValidationFailed("format must be cef or jsonl")
    since = _int_arg("since_id", 0)
    version = str(current_app.config.get("APPLIANCE_VERSION", "0"))
    with state(current_app).db.read_session() as session:
        lines = [
            audit_export.cef_line(event, version)
            if fmt == "cef"
            else audit_export.jsonl_line(event)
            for event in audit_export.events(session, since)
        ]
    mimetype = "text/plain" if fmt == "cef" else "application/x-ndjson"

    return Response("".join(line + "\n" for line in lines), mimetype=mimetype)
