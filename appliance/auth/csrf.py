"""CSRF protection: a per-session token every state-changing browser request carries.

The token lives in the signed session cookie and must come back in the
``X-CSRF-Token`` header or a ``csrf_token`` form field. Requests authenticated by an
API key carry no cookie a browser could be tricked into sending, so they need none;
a JSON request without a session cookie or SSO header cannot come from a foreign
form either. Everything else that changes state must present the token.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

SESSION_KEY = "csrf"
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_ATTRIBUTE = "__csrf_exempt__"


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token

    return token


def presented_token() -> str:
    """Return the token the request carries in its header or form, or ''."""
    token = request.headers.get(HEADER)
    if token is None and request.mimetype in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        token = request.form.get(FIELD)

    return token or ""


def token_is_valid() -> bool:
    """Whether the request carries this session's token."""
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not expected:
        return False

    return hmac.compare_digest(presented_token(), expected)
