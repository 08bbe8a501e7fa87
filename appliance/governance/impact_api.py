"""Impact figures: time to triage, AI coverage, approvals, feedback, minutes saved."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from appliance.api.metrics import EXTRA_COLLECTORS
from appliance.api.openapi import document
from appliance.app_state import state
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.governance import impact

bp = Blueprint("impact", __name__, url_prefix="/api/v1/impact")


class ImpactOut(BaseModel):
    """The appliance's impact on the SOC's work (minutes saved are an estimate)."""

    mean_time_to_triage_seconds: float | None
    incidents_seen: int
    incidents_with_ai_output: int
    share_with_ai_output: float | None
    approvals: dict[str, int]
    approval_rate: float | None
    rejection_rate: float | None
    feedback: dict[str, int]
    feedback_rate: float | None
    automated_actions: int
    automated_actions_reverted: int
    minutes_saved_by_task: dict[str, float]
    assumptions: dict[str, Any]


@bp.get("")
@document("Report impact figures.", tags=["impact"], responses={200: ImpactOut})
@require_role(Role.VIEWER)
def get_impact() -> ResponseReturnValue:
    """Compute the figures from the database."""
    app_state = state(current_app)
    with app_state.db.read_session() as session:
        figures = impact.figures(session, app_state.settings)
    figures["assumptions"] = {
        "minutes_per_useful_result": impact.minutes_per_task(app_state.settings)
    }

    return jsonify(ImpactOut.model_validate(figures).model_dump())


if impact.collect not in EXTRA_COLLECTORS:
    EXTRA_COLLECTORS.append(impact.collect)
