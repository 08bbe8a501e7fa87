"""Accounts and API keys for tests, made through the real services."""

from __future__ import annotations

from appliance.auth import accounts, api_keys
from appliance.auth.api_keys import KNOWN_SCOPES
from appliance.auth.roles import Role
from appliance.config import Settings
from appliance.db.engine import Database

PASSWORD = "correct horse battery staple"


def make_key(
    db: Database, settings: Settings, role: Role, scopes: list[str] | None = None
) -> str:
    """Create an API key with ``role`` (every scope unless given); return it."""
    with db.session() as session:
        _, key = api_keys.create_key(
            session,
            settings,
            name=f"test-{role.value}",
            role=role,
            scopes=sorted(KNOWN_SCOPES) if scopes is None else scopes,
            actor="test",
        )
    return key


def make_account(db: Database, settings: Settings, username: str, role: Role) -> None:
    """Create an account with the shared test password."""
    with db.session() as session:
        accounts.create_account(
            session,
            settings,
            username=username,
            password=PASSWORD,
            role=role,
            actor="test",
        )


def bearer(key: str) -> dict[str, str]:
    """Return the header that presents ``key``."""
    return {"Authorization": f"Bearer {key}"}
