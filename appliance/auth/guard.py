"""Who is calling, and whether they may: the one guard every route applies.

Views declare what they need with :func:`require_role` (and the API-key scope, by
default the blueprint's name); open routes say so with :func:`public`. A test walks
the URL map and fails on a route that does neither.

The caller is found, in this order: an API key in ``Authorization: Bearer``; a
signed-in session cookie; the SSO header of a trusted reverse proxy (when enabled).
A presented key that is unknown or revoked is refused outright, never passed over.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, session
from sqlalchemy import select

from appliance.app_state import state
from appliance.auth import api_keys, csrf, login_sessions
from appliance.auth.roles import Role
from appliance.auth.secret import secret_key
from appliance.auth.tables import Account
from appliance.config import Settings
from appliance.errors import Forbidden, Unauthorized

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
ROLE_ATTRIBUTE = "__required_role__"
SCOPE_ATTRIBUTE = "__required_scope__"
PUBLIC_ATTRIBUTE = "__public__"
SESSION_TOKEN = "sid"
COOKIE_NAME = "appliance_session"
_UNSET = object()


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    name: str
    role: Role
    via: str  # "api_key", "session" or "sso"
    scopes: frozenset[str] | None = None


def require_role(role: Role | str, scope: str | None = None) -> Callable[[F], F]:
    """Let a view run only for callers with at least ``role``.

    Args:
        role: the least role that may call the view.
        scope: the API-key scope the route belongs to; the blueprint's name when
            omitted.
    """
    needed = Role(role)

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise Unauthorized("sign in or present an API key")
            if not principal.role.allows(needed):
                raise Forbidden(f"this needs the {needed.value} role")
            wanted = scope or request.blueprint or ""
            if principal.scopes is not None and wanted not in principal.scopes:
                raise Forbidden(f"this API key is not scoped to {wanted!r}")
            return view(*args, **kwargs)

        setattr(guarded, ROLE_ATTRIBUTE, needed)
        setattr(guarded, SCOPE_ATTRIBUTE, scope)
        return guarded  # type: ignore[return-value]

    return wrap


def public(reason: str) -> Callable[[F], F]:
    """Mark a view as open to anyone, saying why."""

    def mark(view: F) -> F:
        setattr(view, PUBLIC_ATTRIBUTE, reason)
        return view

    return mark


def csrf_exempt(view: F) -> F:
    """Exempt a view that authenticates each request itself (signed webhooks)."""
    setattr(view, csrf.EXEMPT_ATTRIBUTE, True)
    return view


def current_principal() -> Principal | None:
    """Return the caller of this request (resolved once per request)."""
    cached = g.get("principal", _UNSET)
    if cached is not _UNSET:
        return cached
    principal = _resolve()
    g.principal = principal

    return principal


def _bearer() -> str | None:
    """Return the bearer token of the Authorization header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None

    return token.strip()


def _resolve() -> Principal | None:
    """Find the caller from an API key, the session cookie or the SSO header."""
    app_state = state(current_app)
    presented = _bearer()
    if presented is not None:
        with app_state.db.session() as db_session:
            row = api_keys.resolve_key(db_session, presented)
            if row is None:
                raise Unauthorized("the API key is unknown or revoked")
            api_keys.touch(db_session, row)
            return Principal(
                f"key:{row.name}", Role(row.role), "api_key", frozenset(row.scopes)
            )
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str) and token:
        with app_state.db.read_session() as db_session:
            account = login_sessions.account_for(db_session, token)
            if account is not None:
                return Principal(account.username, Role(account.role), "session")
    return _sso_principal(app_state.settings)


def _trusted_proxy(settings: Settings) -> bool:
    """Whether the request comes straight from a configured reverse proxy."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for entry in (settings.sso_trusted_proxies or "").split(","):
        entry = entry.strip()
        if entry and address in ipaddress.ip_network(entry, strict=False):
            return True

    return False


def _sso_principal(settings: Settings) -> Principal | None:
    """Return the user a trusted reverse proxy vouches for, if SSO is on."""
    if not settings.sso_user_header:
        return None
    username = request.headers.get(settings.sso_user_header, "").strip()
    if not username:
        return None
    if not _trusted_proxy(settings):
        logger.warning(
            "SSO header from an untrusted address ignored",
            extra={"request_id": g.get("request_id")},
        )
        return None
    with state(current_app).db.read_session() as db_session:
        account = db_session.scalar(
            select(Account).where(Account.username == username[:100])
        )
        if account is not None:
            if account.disabled:
                return None
            return Principal(account.username, Role(account.role), "sso")
    return Principal(username[:100], Role(settings.sso_default_role), "sso")


def _check_csrf() -> None:
    """Refuse a state-changing browser request that lacks the session's token."""
    if request.method not in csrf.UNSAFE_METHODS or _bearer() is not None:
        return
    if request.routing_exception is not None:
        return  # no view will run; let the 404 or 405 speak
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, csrf.EXEMPT_ATTRIBUTE, False):
        return
    settings = state(current_app).settings
    has_cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    has_sso = bool(
        settings.sso_user_header and request.headers.get(settings.sso_user_header)
    )
    if not has_cookie and not has_sso and request.mimetype == "application/json":
        return
    if not csrf.token_is_valid():
        raise Forbidden("missing or invalid CSRF token")


def _check_metrics_token() -> None:
    """Require the metrics token on /metrics when one is set."""
    token = state(current_app).settings.metrics_token
    if not token or request.path != "/metrics":
        return
    if not hmac.compare_digest(_bearer() or "", token):
        raise Unauthorized("/metrics needs its bearer token")


def install(app: Flask) -> None:
    """Configure sessions and cookies, and check CSRF and /metrics on every request."""
    settings = state(app).settings
    app.secret_key = secret_key(settings)
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime_minutes * 60,
    )
    app.before_request(_check_metrics_token)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf.csrf_token
