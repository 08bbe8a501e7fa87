"""API keys for connectors: shown once, stored as a digest, scoped, revocable.

A key reads ``apl_<key id>_<secret>``. The key id finds the row; the secret's
SHA-256 digest is compared in constant time. The secret is 256 random bits, so a
fast digest is enough (a slow password hash guards guessable secrets, not these).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.auth.roles import Role
from appliance.auth.tables import ApiKey
from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.errors import Conflict, NotFound, ValidationFailed
from appliance.governance import audit

PREFIX = "apl_"
# Route groups a key may be scoped to: the blueprint names that accept API keys.
KNOWN_SCOPES = frozenset(
    {
        "jobs",
        "approvals",
        "feedback",
        "audit",
        "governance",
        "impact",
        "intake",
        "incidents",
        "keys",
        "users",
        "models",
        "xql",
        "privacy",
        "correlate",
        "hunt",
        "tasks",
        "context",
        "auth",
    }
)


def _digest(secret: str) -> str:
    """Return the stored digest of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    settings: Settings,
    *,
    name: str,
    role: Role,
    scopes: list[str],
    actor: str,
) -> tuple[ApiKey, str]:
    """Create a key; return its row and the key itself, which is never shown again."""
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if not scopes or unknown:
        raise ValidationFailed(
            "scopes must be one or more of: " + ", ".join(sorted(KNOWN_SCOPES)),
            details={"unknown": unknown},
        )
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        key_id=key_id,
        digest=_digest(secret),
        name=name[:100],
        role=role.value,
        scopes=sorted(set(scopes)),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.create",
        outcome="success",
        tenant=settings.tenant,
        target=f"api_key:{key_id}",
        details={"name": row.name, "role": role.value, "scopes": row.scopes},
        settings=settings,
    )

    return row, f"{PREFIX}{key_id}_{secret}"


def resolve_key(session: Session, presented: str) -> ApiKey | None:
    """Return the live key row ``presented`` stands for, or None."""
    if not presented.startswith(PREFIX):
        return None
    key_id, _, secret = presented[len(PREFIX) :].partition("_")
    if not key_id or not secret:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.digest, _digest(secret)):
        return None

    return row


def touch(session: Session, row: ApiKey) -> None:
    """Note that a key was used, at most once a minute."""
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now


def revoke_key(
    session: Session, settings: Settings, key_id: str, *, actor: str
) -> ApiKey:
    """Revoke a key; it is refused from then on."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    if row.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    row.revoked_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="api_key.revoke",
        outcome="success",
        tenant=settings.tenant,
        target=f"api_key:{key_id}",
        settings=settings,
    )

    return row
