"""The approval queue: list proposals, approve or reject them with a comment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth.guard import current_principal, require_role
from appliance.auth.roles import Role
from appliance.errors import NotFound, ValidationFailed
from appliance.governance import approvals
from appliance.governance.tables import Approval

bp = Blueprint("approvals", __name__, url_prefix="/api/v1/approvals")


class ApprovalOut(BaseModel):
    """A proposed change with its evidence, confidence and decision."""

    id: int
    tenant: str
    task: str
    kind: str
    incident_id: str
    incident_severity: str
    confidence: float
    change: dict[str, Any]
    evidence: list[Any]
    reason: str
    state: str
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    comment: str | None
    applied_at: dt.datetime | None
    applied_ref: str | None

    @classmethod
    def of(cls, row: Approval) -> ApprovalOut:
        """Serialize an approval row."""
        return cls.model_validate(
            {name: getattr(row, name) for name in cls.model_fields}
        )


class ApprovalList(BaseModel):
    """Approvals, newest first."""

    approvals: list[ApprovalOut]


class Decision(BaseModel):
    """An analyst's decision comment."""

    model_config = {"extra": "forbid"}

    comment: str = Field(min_length=1, max_length=2000)


def _actor() -> str:
    """Return the deciding analyst's name."""
    principal = current_principal()
    return principal.name if principal else "unknown"


@bp.get("")
@document(
    "List proposed changes, by state.",
    tags=["approvals"],
    responses={200: ApprovalList},
)
@require_role(Role.VIEWER)
def list_approvals() -> ResponseReturnValue:
    """Return approvals, optionally only those in ``state``; expire the overdue."""
    wanted = request.args.get("state")
    if wanted is not None and wanted not in approvals.STATES:
        raise ValidationFailed(f"unknown approval state {wanted!r}")
    app_state = state(current_app)
    with app_state.db.session() as session:
        approvals.expire_due(session, app_state.settings)
        rows = approvals.listing(session, wanted)
        body = ApprovalList(approvals=[ApprovalOut.of(row) for row in rows])

    return jsonify(body.model_dump(mode="json"))


@bp.get("/<int:approval_id>")
@document(
    "Show one proposed change.",
    tags=["approvals"],
    responses={200: ApprovalOut, 404: "No such approval"},
)
@require_role(Role.VIEWER)
def get_approval(approval_id: int) -> ResponseReturnValue:
    """Return one approval with its evidence."""
    with state(current_app).db.read_session() as session:
        row = session.get(Approval, approval_id)
        if row is None:
            raise NotFound(f"approval {approval_id} does not exist")
        body = ApprovalOut.of(row)

    return jsonify(body.model_dump(mode="json"))


def _decide(approval_id: int, decide: Any) -> ResponseReturnValue:
    """Apply one analyst decision (``approvals.approve`` or ``reject``)."""
    body = json_body(Decision)
    app_state = state(current_app)
    with app_state.db.session() as session:
        row = decide(
            session,
            app_state.settings,
            approval_id,
            actor=_actor(),
            comment=body.comment,
        )
        out = ApprovalOut.of(row)

    return jsonify(out.model_dump(mode="json"))


@bp.post("/<int:approval_id>/approve")
@document(
    "Approve a proposed change; it goes through the audited write-back path.",
    tags=["approvals"],
    request=Decision,
    responses={200: ApprovalOut, 404: "No such approval", 409: "Already decided"},
)
@require_role(Role.ANALYST)
def approve(approval_id: int) -> ResponseReturnValue:
    """Approve and hand the change to the write-back path."""
    return _decide(approval_id, approvals.approve)


@bp.post("/<int:approval_id>/reject")
@document(
    "Reject a proposed change; nothing is sent.",
    tags=["approvals"],
    request=Decision,
    responses={200: ApprovalOut, 404: "No such approval", 409: "Already decided"},
)
@require_role(Role.ANALYST)
def reject(approval_id: int) -> ResponseReturnValue:
    """Reject the change."""
    return _decide(approval_id, approvals.reject)
