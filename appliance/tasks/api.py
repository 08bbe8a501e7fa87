"""POST /api/v1/hunt: a hunting question in, a validated XQL query out."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.auth.guard import require_role
from appliance.auth.roles import Role

bp = Blueprint("hunt", __name__, url_prefix="/api/v1/hunt")


class HuntRequest(BaseModel):
    """A question in plain language, e.g. "Which hosts talked to 1.2.3.4 today?"."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    limit: int = Field(default=1000, ge=1, le=100_000)


class HuntResponse(BaseModel):
    """The validated query, the template it came from and its parameters."""

    ai_generated: bool
    source: str
    label: str
    question: str
    intent: str
    params: dict[str, str]
    timeframe: str
    xql: str
    dataset: str
    valid: bool
    warnings: list[str]


@bp.post("")
@document(
    "Turn a hunting question into a validated XQL query.",
    tags=["hunting"],
    request=HuntRequest,
    responses={
        200: HuntResponse,
        422: "The question names nothing to hunt for, or a value is unusable",
    },
)
@require_role(Role.ANALYST)
def hunt() -> ResponseReturnValue:
    """Return the XQL query for the question; it validated before it is returned."""
    from appliance.tasks.hunting import generate

    body = json_body(HuntRequest)
    result = generate(body.question, limit=body.limit).as_dict()
    result.pop("results", None)

    return jsonify(HuntResponse.model_validate(result).model_dump(mode="json"))
