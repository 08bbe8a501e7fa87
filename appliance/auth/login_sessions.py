"""Signed-in browser sessions, kept server-side so sign-out and disabling bite.

The (signed) session cookie carries a random token; the table keeps its digest, the
account and the expiry. Signing out or disabling the account ends the session at
once, whatever the cookie says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.auth.tables import Account, LoginSession
from appliance.config import Settings
from appliance.db.base import utcnow


def _digest(token: str) -> str:
    """Return the stored digest of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, settings: Settings, account: Account) -> str:
    """Start a session for ``account``; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            digest=_digest(token),
            account_id=account.id,
            expires_at=utcnow()
            + dt.timedelta(minutes=settings.session_lifetime_minutes),
        )
    )
    session.flush()

    return token


def account_for(session: Session, token: str) -> Account | None:
    """Return the live account of a session token, or None."""
    row = session.scalar(
        select(LoginSession).where(LoginSession.digest == _digest(token))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None

    return account


def close_session(session: Session, token: str) -> None:
    """End a session (sign-out)."""
    row = session.scalar(
        select(LoginSession).where(LoginSession.digest == _digest(token))
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
