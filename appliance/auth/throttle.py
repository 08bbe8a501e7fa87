"""Login throttling: too many failed sign-ins per username or client are refused.

Failures are counted in the database, so every web process sees the same count.
While over the limit a sign-in is refused before the password is even checked, so
guessing gains nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from appliance.auth.tables import LoginAttempt
from appliance.config import Settings
from appliance.db.base import utcnow


def is_throttled(
    session: Session, settings: Settings, *, username: str, client: str
) -> bool:
    """Whether the username or the client has failed too often in the window."""
    since = utcnow() - dt.timedelta(seconds=settings.login_window_seconds)
    recent = select(func.count()).select_from(LoginAttempt)
    recent = recent.where(LoginAttempt.attempted_at >= since)
    by_user = session.scalar(recent.where(LoginAttempt.username == username)) or 0
    by_client = session.scalar(recent.where(LoginAttempt.client == client)) or 0

    return max(by_user, by_client) >= settings.login_max_failures


def note_failure(
    session: Session, settings: Settings, *, username: str, client: str
) -> None:
    """Count one failed sign-in and forget those older than the window."""
    now = utcnow()
    session.add(
        LoginAttempt(username=username[:100], client=client[:64], attempted_at=now)
    )
    cutoff = now - dt.timedelta(seconds=settings.login_window_seconds)
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff))
    session.flush()


def clear(session: Session, *, username: str) -> None:
    """Forget a username's failures after it signed in."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
