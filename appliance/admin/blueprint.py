"""The console's blueprint and what every page shares: the caller, errors, forms.

Pages are plain HTML forms (POST, then redirect), so the console works without
JavaScript. Errors raised by services render as a page with the service's message,
never as the JSON error body the API uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from appliance.api.openapi import document
from appliance.app_state import AppState, state
from appliance.auth.guard import Principal, current_principal, public
from appliance.errors import ApplianceError, Unauthorized

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
)
STYLESHEET = Path(__file__).parent / "static" / "admin.css"


def app_state() -> AppState:
    """Return the app's settings and database."""
    return state(current_app)


def actor() -> str:
    """Return the signed-in caller's name (views run behind require_role)."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized("sign in first")

    return principal.name


def page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """Render one console page with the caller in its context."""
    return (
        render_template(f"admin/{template}", principal=_principal_or_none(), **context),
        status,
    )


def form_text(name: str, *, limit: int = 2000) -> str:
    """Return a trimmed form field, cut to ``limit`` characters."""
    return request.form.get(name, "").strip()[:limit]


def _principal_or_none() -> Principal | None:
    """Return the caller, or None when resolving them fails (a revoked key)."""
    try:
        return current_principal()
    except ApplianceError:
        return None


@bp.get("/admin.css")
@document("Return the console's stylesheet.", tags=["admin"], content_type="text/css")
@public("the sign-in page needs its stylesheet before anyone signs in")
def stylesheet() -> ResponseReturnValue:
    """Serve the console's one stylesheet."""
    response = Response(STYLESHEET.read_text(encoding="utf-8"), mimetype="text/css")
    response.headers["Cache-Control"] = "max-age=3600"
    return response


@bp.errorhandler(ApplianceError)
def on_error(exc: ApplianceError) -> ResponseReturnValue:
    """Render a service's refusal as a page with its status and message."""
    if isinstance(exc, Unauthorized):
        # No session is touched here, so an anonymous caller gets no cookie.
        return (
            render_template(
                "admin/signed_out.html", principal=None, message=exc.message
            ),
            401,
        )
    status = exc.status if exc.status < 500 else 500
    message = exc.message if exc.status < 500 else "internal error; see the logs"

    return page("error.html", status, status_code=status, message=message)
