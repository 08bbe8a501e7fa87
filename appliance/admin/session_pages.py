"""Signing in and out of the console with a form (the auth service does the work)."""

from __future__ import annotations

from flask import redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from appliance.admin.blueprint import actor, app_state, bp, form_text, page
from appliance.api.openapi import document
from appliance.auth import accounts, csrf, guard, login_sessions
from appliance.auth.roles import Role
from appliance.governance import audit


def _safe_next(target: str) -> str:
    """Return ``target`` when it is a console path, else the overview."""
    if target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.overview")


@bp.get("/login")
@document("Show the sign-in form.", tags=["admin"], content_type="text/html")
@guard.public("the sign-in form is how a person gets a session")
def login_form() -> ResponseReturnValue:
    """Show the sign-in form."""
    csrf.csrf_token()
    return page("login.html", next=_safe_next(request.args.get("next", "")))


@bp.post("/login")
@document(
    "Check the password, open a server-side session and go to the console.",
    tags=["admin"],
    content_type="text/html",
)
@guard.public("signing in is how a person gets a session")
def login() -> ResponseReturnValue:
    """Check the password, open a server-side session and go to the console."""
    state = app_state()
    username = form_text("username", limit=100)
    password = request.form.get("password", "")[:1024]
    target = _safe_next(form_text("next", limit=500))
    if not username or not password:
        return page("login.html", 400, next=target, error="Enter both fields.")
    with state.db.session() as db_session:
        result = accounts.sign_in(
            db_session,
            state.settings,
            username=username,
            password=password,
            client=request.remote_addr or "unknown",
        )
        token = (
            login_sessions.open_session(db_session, state.settings, result.account)
            if result.account is not None
            else None
        )
    if result.throttled:
        error = "Too many failed sign-ins; try again later."
        return page("login.html", 429, next=target, error=error)
    if token is None:
        error = "Wrong username or password."
        return page("login.html", 401, next=target, error=error)
    session.clear()
    session.permanent = True
    session[guard.SESSION_TOKEN] = token
    csrf.csrf_token()

    return redirect(target, 303)


@bp.post("/logout")
@document(
    "End the server-side session and go back to the sign-in form.",
    tags=["admin"],
    content_type="text/html",
)
@guard.require_role(Role.VIEWER, scope="auth")
def logout() -> ResponseReturnValue:
    """End the server-side session and go back to the sign-in form."""
    state = app_state()
    name = actor()
    token = session.get(guard.SESSION_TOKEN)
    with state.db.session() as db_session:
        if isinstance(token, str):
            login_sessions.close_session(db_session, token)
        audit.record(
            db_session,
            actor=name,
            action="logout",
            outcome="success",
            tenant=state.settings.tenant,
            settings=state.settings,
        )
    session.clear()

    return redirect(url_for("admin.login_form"), 303)
