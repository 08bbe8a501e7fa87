"""POST /api/v1/scrub: scrubbed text or JSON for connectors.

The request is bounded (``APPLIANCE_MAX_REQUEST_BYTES`` and the limits of
:mod:`appliance.privacy.scrubber`). Without an incident id the pseudonyms are
throwaway; with one they come from, and are added to, the incident's vault, so a
connector's text uses the same tokens as the model's prompts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth.guard import require_role
from appliance.auth.roles import Role

bp = Blueprint("privacy", __name__, url_prefix="/api/v1/scrub")


class ScrubRequest(BaseModel):
    """Text or JSON to scrub, optionally within an incident's vault."""

    model_config = ConfigDict(extra="forbid")

    data: Any = Field(description="A string, or a JSON alert, incident or list.")
    incident_id: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    report: bool = Field(default=False, description="List what was found.")


class FindingOut(BaseModel):
    """One thing found: its type, action, replacement and place (not the value)."""

    entity_type: str
    action: str
    replacement: str
    field: str | None
    start: int
    end: int


class ScrubResponse(BaseModel):
    """The scrubbed data and counts of what was found, by entity type."""

    data: Any
    entities: dict[str, int]
    vault_id: str | None
    ner: bool
    findings: list[FindingOut] | None = None


@bp.post("")
@document(
    "Scrub personal data from text or JSON.",
    tags=["privacy"],
    request=ScrubRequest,
    responses={
        200: ScrubResponse,
        413: "Request body too large",
        422: "Invalid input (too deep, too long, not JSON text)",
    },
)
@require_role(Role.ANALYST)
def scrub() -> ResponseReturnValue:
    """Return the data with personal data replaced by pseudonyms or redacted."""
    from appliance.privacy import service

    body = json_body(ScrubRequest)
    app_state = state(current_app)
    scrubber = service.scrubber_for(app_state.settings)
    with app_state.db.session() as session:
        if body.incident_id:
            vault = service.incident_vault(
                session, app_state.settings, scrubber, body.incident_id
            )
        else:
            vault = scrubber.new_vault()
        result = scrubber.scrub(body.data, vault)
        if body.incident_id:
            service.store_vault(session, app_state.settings, vault)
    findings = None
    if body.report:
        findings = [
            FindingOut(
                entity_type=f.entity_type,
                action=f.action.value,
                replacement=f.replacement,
                field=f.field,
                start=f.start,
                end=f.end,
            )
            for f in result.findings
        ]
    response = ScrubResponse(
        data=result.data,
        entities=result.entities,
        vault_id=vault.vault_id if body.incident_id else None,
        ner=scrubber.ner_available,
        findings=findings,
    )

    return jsonify(response.model_dump(mode="json"))
