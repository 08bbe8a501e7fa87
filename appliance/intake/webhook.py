"""``POST /api/v1/webhooks/xdr``: what an XDR connector calls with an incident."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from appliance.api.openapi import document
from appliance.api.requests import parse_json
from appliance.app_state import state
from appliance.auth.guard import csrf_exempt, public
from appliance.errors import PayloadTooLarge, Unavailable, ValidationFailed
from appliance.intake import service, signature

bp = Blueprint("intake", __name__, url_prefix="/api/v1/webhooks")


def _bounded_body(limit: int) -> bytes:
    """Read the body, refusing one over ``limit`` bytes (declared or streamed)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the webhook body is larger than {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"the webhook body is larger than {limit} bytes")

    return body


@bp.post("/xdr")
@public("authenticated by its HMAC signature, not by a session or API key")
@csrf_exempt
@document(
    "Accept an XDR incident from a connector and enqueue its intake.",
    tags=["intake"],
    request=service.XdrWebhook,
    responses={
        202: service.Accepted,
        401: "Missing, stale or wrong signature",
        413: "Body too large",
        503: "No webhook secret is configured",
    },
    security=["webhookSignature"],
)
def xdr_webhook() -> ResponseReturnValue:
    """Verify the signature, then enqueue one ingest job per incident version."""
    settings = state(current_app).settings
    if not settings.webhook_secret:
        raise Unavailable("APPLIANCE_WEBHOOK_SECRET is not set; webhooks are off")
    body = _bounded_body(settings.webhook_max_body_bytes)
    sent_at = signature.verify(
        settings.webhook_secret,
        request.headers.get(signature.TIMESTAMP_HEADER),
        request.headers.get(signature.SIGNATURE_HEADER),
        body,
        max_skew_seconds=settings.webhook_max_skew_seconds,
    )
    data = parse_json(body)
    try:
        webhook = service.XdrWebhook.model_validate(data)
    except ValidationError as exc:
        details = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed("the webhook body is invalid", details=details) from None
    accepted = service.accept(state(current_app).db, settings, webhook, sent_at)

    return jsonify(accepted.model_dump(mode="json")), 202
