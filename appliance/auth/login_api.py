"""Sign-in, sign-out, the caller's identity and the CSRF token."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Flask, current_app, jsonify, request, session
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth import accounts, csrf, guard, login_sessions
from appliance.auth.roles import Role
from appliance.errors import RateLimited, Unauthorized
from appliance.governance import audit

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
# Registering this blueprint configures sessions, cookies and the CSRF check.
bp.record_once(lambda setup: guard.install(cast(Flask, setup.app)))


class LoginIn(BaseModel):
    """A username and password."""

    model_config = {"extra": "forbid"}

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class Identity(BaseModel):
    """Who the caller is."""

    name: str
    role: str
    via: str
    csrf_token: str | None = None


class CsrfOut(BaseModel):
    """The session's CSRF token, for the X-CSRF-Token header or csrf_token field."""

    csrf_token: str


@bp.get("/csrf")
@document("Return this session's CSRF token.", tags=["auth"], responses={200: CsrfOut})
@guard.public("a browser needs the token before it can sign in")
def get_csrf() -> ResponseReturnValue:
    """Return (creating it if need be) the session's CSRF token."""
    return jsonify(CsrfOut(csrf_token=csrf.csrf_token()).model_dump())


@bp.post("/login")
@document(
    "Sign in with a username and password.",
    tags=["auth"],
    request=LoginIn,
    responses={200: Identity, 401: "Wrong credentials", 429: "Too many failures"},
)
@guard.public("signing in is how a caller gets credentials")
def login() -> ResponseReturnValue:
    """Check the password, start a server-side session and set the cookie."""
    body = json_body(LoginIn)
    app_state = state(current_app)
    client = request.remote_addr or "unknown"
    with app_state.db.session() as db_session:
        result = accounts.sign_in(
            db_session,
            app_state.settings,
            username=body.username,
            password=body.password,
            client=client,
        )
        token = (
            login_sessions.open_session(db_session, app_state.settings, result.account)
            if result.account is not None
            else None
        )
        identity = (
            (result.account.username, result.account.role) if result.account else None
        )
    if result.throttled:
        raise RateLimited("too many failed sign-ins; try again later")
    if token is None or identity is None:
        raise Unauthorized("wrong username or password")
    session.clear()
    session.permanent = True
    session[guard.SESSION_TOKEN] = token
    body_out = Identity(
        name=identity[0], role=identity[1], via="session", csrf_token=csrf.csrf_token()
    )

    return jsonify(body_out.model_dump())


@bp.post("/logout")
@document("Sign out and end the session.", tags=["auth"], responses={204: "Done"})
@guard.require_role(Role.VIEWER)
def logout() -> ResponseReturnValue:
    """End the server-side session and clear the cookie."""
    app_state = state(current_app)
    principal = guard.current_principal()
    token = session.get(guard.SESSION_TOKEN)
    with app_state.db.session() as db_session:
        if isinstance(token, str):
            login_sessions.close_session(db_session, token)
        audit.record(
            db_session,
            actor=principal.name if principal else "unknown",
            action="logout",
            outcome="success",
            tenant=app_state.settings.tenant,
            settings=app_state.settings,
        )
    session.clear()

    return "", 204


@bp.get("/me")
@document("Say who the caller is.", tags=["auth"], responses={200: Identity})
@guard.require_role(Role.VIEWER)
def me() -> ResponseReturnValue:
    """Return the caller's name, role and how they authenticated."""
    principal = guard.current_principal()
    assert principal is not None  # require_role let the request through

    return jsonify(
        Identity(
            name=principal.name, role=principal.role.value, via=principal.via
        ).model_dump()
    )
