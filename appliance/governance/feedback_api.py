"""Feedback on AI output: give it, list it, summarize and export it."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth.guard import current_principal, require_role
from appliance.auth.roles import Role
from appliance.governance import feedback
from appliance.governance.feedback import Rating

bp = Blueprint("feedback", __name__, url_prefix="/api/v1/feedback")


class FeedbackIn(BaseModel):
    """An analyst's verdict on one AI output."""

    model_config = {"extra": "forbid"}

    output_id: str = Field(min_length=1, max_length=64)
    prompt_record_id: str | None = Field(default=None, max_length=64)
    incident_id: str | None = Field(default=None, max_length=64)
    task: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=200)
    prompt_version: str = Field(min_length=1, max_length=64)
    rating: Rating
    reason: str = Field(min_length=1, max_length=4000)
    tenant: str | None = Field(default=None, max_length=100)


class FeedbackOut(BaseModel):
    """One piece of feedback."""

    id: int
    tenant: str
    output_id: str
    prompt_record_id: str | None
    incident_id: str | None
    task: str
    model: str
    prompt_version: str
    rating: Rating
    reason: str
    actor: str
    created_at: dt.datetime


class FeedbackList(BaseModel):
    """Feedback, newest first."""

    feedback: list[FeedbackOut]


class FeedbackSummaryRow(BaseModel):
    """Feedback counts for one model and prompt version."""

    model: str
    prompt_version: str
    useful: int
    inaccurate: int
    harmful: int


class FeedbackSummary(BaseModel):
    """Feedback counts by model and prompt version."""

    summary: list[FeedbackSummaryRow]


@bp.post("")
@document(
    "Mark an AI output useful, inaccurate or harmful, with a reason.",
    tags=["feedback"],
    request=FeedbackIn,
    responses={201: FeedbackOut},
)
@require_role(Role.ANALYST)
def give_feedback() -> ResponseReturnValue:
    """Store the feedback with its output and prompt record ids."""
    body = json_body(FeedbackIn)
    app_state = state(current_app)
    principal = current_principal()
    with app_state.db.session() as session:
        row = feedback.give(
            session,
            app_state.settings,
            actor=principal.name if principal else "unknown",
            tenant=body.tenant or app_state.settings.tenant,
            output_id=body.output_id,
            task=body.task,
            model=body.model,
            prompt_version=body.prompt_version,
            rating=body.rating,
            reason=body.reason,
            prompt_record_id=body.prompt_record_id,
            incident_id=body.incident_id,
        )
        out = FeedbackOut.model_validate(feedback.as_dict(row))

    return jsonify(out.model_dump(mode="json")), 201


@bp.get("")
@document(
    "List feedback, by model, prompt version or rating.",
    tags=["feedback"],
    responses={200: FeedbackList},
)
@require_role(Role.VIEWER)
def list_feedback() -> ResponseReturnValue:
    """Return feedback, newest first."""
    with state(current_app).db.read_session() as session:
        rows = feedback.listing(
            session,
            model=request.args.get("model"),
            prompt_version=request.args.get("prompt_version"),
            rating=request.args.get("rating"),
        )
        body = FeedbackList(
            feedback=[FeedbackOut.model_validate(feedback.as_dict(r)) for r in rows]
        )

    return jsonify(body.model_dump(mode="json"))


@bp.get("/summary")
@document(
    "Count feedback by model and prompt version.",
    tags=["feedback"],
    responses={200: FeedbackSummary},
)
@require_role(Role.VIEWER)
def summarize_feedback() -> ResponseReturnValue:
    """Return counts of each rating per model and prompt version."""
    with state(current_app).db.read_session() as session:
        body = FeedbackSummary.model_validate({"summary": feedback.summary(session)})

    return jsonify(body.model_dump(mode="json"))


@bp.get("/export")
@document(
    "Export every piece of feedback as JSON lines, for review.",
    tags=["feedback"],
    content_type="application/x-ndjson",
)
@require_role(Role.ANALYST)
def export_feedback() -> ResponseReturnValue:
    """Return all feedback, oldest first, one JSON object a line."""
    with state(current_app).db.read_session() as session:
        text = "".join(
            json.dumps(row, sort_keys=True) + "\n" for row in feedback.export(session)
        )

    return Response(text, mimetype="application/x-ndjson")
