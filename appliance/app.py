"""The Flask application factory."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from appliance.admin import views as admin_views
from appliance.api import health, jobs, openapi
from appliance.api.metrics import build_registry
from appliance.api.routing import RowIdConverter
from appliance.app_state import EXTENSION, AppState
from appliance.auth import accounts_api, keys_api, login_api
from appliance.config import Settings, load_settings
from appliance.correlate import api as correlate_api
from appliance.db.engine import Database
from appliance.enrich import api as enrich_api
from appliance.errors import ApplianceError, PayloadTooLarge, error_body
from appliance.governance import (
    approvals_api,
    audit_api,
    feedback_api,
    impact_api,
    phases_api,
)
from appliance.intake import webhook as intake_webhook
from appliance.log import configure_logging
from appliance.privacy import api as privacy_api
from appliance.tasks import api as tasks_api

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Every blueprint the app serves, in registration order.
BLUEPRINTS = [
    health.bp,
    openapi.bp,
    jobs.bp,
    login_api.bp,
    accounts_api.bp,
    keys_api.bp,
    approvals_api.bp,
    feedback_api.bp,
    audit_api.bp,
    phases_api.bp,
    impact_api.bp,
    privacy_api.bp,
    intake_webhook.bp,
    tasks_api.bp,
    enrich_api.bp,
    correlate_api.bp,
    admin_views.bp,
]


def create_app(config: Settings | Mapping[str, object] | None = None) -> Flask:
    """Build the appliance's web application.

    Args:
        config: ready settings, or overrides by setting name on top of the
            environment and settings file; None reads the environment alone.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
        APPLIANCE_VERSION=_package_version(),
    )
    db = Database(settings.resolved_database_url)
    registry, http_metrics = build_registry(db, settings)
    app.extensions[EXTENSION] = AppState(settings, db, registry, http_metrics)

    # Before the rules are added: every <int:…> id is bounded to a row id.
    app.url_map.converters["int"] = RowIdConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    _register_request_hooks(app)
    _register_error_handlers(app)

    return app


def _package_version() -> str:
    """Return the installed package version."""
    try:
        return version("appliance")
    except PackageNotFoundError:
        return "0+unknown"


def _register_request_hooks(app: Flask) -> None:
    """Give each request an id, and count and time it."""

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        # Refuse oversized bodies up front, whether or not the view reads them.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")

    @app.after_request
    def finish_request(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics = app.extensions[EXTENSION].http_metrics
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        if "started" in g:
            metrics.latency.labels(request.method, route).observe(
                time.perf_counter() - g.started
            )
        return response


def _register_error_handlers(app: Flask) -> None:
    """Render every error, expected or not, as the one JSON error body."""

    def respond(
        status: int, message: str, code: str | None = None, details: object = None
    ) -> tuple[Response, int]:
        body = error_body(
            status, message, code=code, request_id=g.get("request_id"), details=details
        )
        return jsonify(body), status

    @app.errorhandler(ApplianceError)
    def on_appliance_error(exc: ApplianceError) -> tuple[Response, int]:
        if exc.status >= 500:
            logger.error(
                "request failed",
                exc_info=exc,
                extra={"request_id": g.get("request_id")},
            )
            return respond(
                exc.status,
                "internal error; see the logs for this request id"
                if exc.status == 500
                else exc.message,
                exc.code,
            )
        return respond(exc.status, exc.message, exc.code, exc.details)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        response = respond(status, exc.description or exc.name)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response[0].headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception) -> tuple[Response, int]:
        # The message may hold internal detail; it goes to the log, never the client.
        logger.error(
            "unhandled error", exc_info=exc, extra={"request_id": g.get("request_id")}
        )
        return respond(500, "internal error; see the logs for this request id")
