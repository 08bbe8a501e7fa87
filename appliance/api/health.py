"""Liveness, readiness and metrics endpoints for orchestrators and Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from appliance.api import readiness
from appliance.api.openapi import document
from appliance.app_state import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@document("Report that the process is alive.", tags=["health"])
def healthz() -> ResponseReturnValue:
    """Answer as long as the process can serve requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
@document(
    "Report whether the appliance is ready, and what is degraded and why.",
    tags=["health"],
    responses={200: "Ready", 503: "Not ready"},
)
def readyz() -> ResponseReturnValue:
    """Run the readiness checks; 503 when a required one failed."""
    app_state = state(current_app)
    checks = readiness.run_checks(app_state.db, app_state.settings)
    failed = any(c.status == "failed" for c in checks)
    degraded = any(c.status == "degraded" for c in checks)
    status = "failed" if failed else "degraded" if degraded else "ok"
    body = {"status": status, "checks": [c.as_dict() for c in checks]}

    return jsonify(body), 503 if failed else 200


@bp.get("/metrics")
@document(
    "Expose Prometheus metrics.",
    tags=["health"],
    content_type="text/plain",
)
def metrics() -> ResponseReturnValue:
    """Render every metric in the Prometheus text format."""
    output = generate_latest(state(current_app).metrics_registry)

    return Response(output, mimetype=CONTENT_TYPE_LATEST)
