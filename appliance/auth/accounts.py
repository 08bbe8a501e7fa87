"""Accounts of people: create, sign in, change role, disable (all audited)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.auth import passwords, throttle
from appliance.auth.roles import Role
from appliance.auth.tables import Account
from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.errors import Conflict, NotFound, ValidationFailed
from appliance.governance import audit


def create_account(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str | None,
    role: Role,
    actor: str,
) -> Account:
    """Create an account; ``password`` None makes an SSO-only account."""
    if not username or len(username) > 100:
        raise ValidationFailed("a username is 1 to 100 characters")
    if password is not None and len(password) < passwords.MIN_LENGTH:
        raise ValidationFailed(
            f"a password has at least {passwords.MIN_LENGTH} characters"
        )
    if session.scalar(select(Account.id).where(Account.username == username)):
        raise Conflict(f"account {username!r} already exists")
    account = Account(
        username=username,
        password_hash=passwords.hash_password(password) if password else None,
        role=role.value,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.create",
        outcome="success",
        tenant=settings.tenant,
        target=f"account:{username}",
        details={"role": role.value},
        settings=settings,
    )

    return account


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in: the account, or why there is none."""

    account: Account | None
    throttled: bool = False


def sign_in(
    session: Session, settings: Settings, *, username: str, password: str, client: str
) -> SignIn:
    """Check a username and password, counting failures and honouring throttling.

    The caller commits the session whatever the outcome, so failures are counted.
    """
    if throttle.is_throttled(session, settings, username=username, client=client):
        audit.record(
            session,
            actor=username[:100],
            action="login",
            outcome="denied",
            tenant=settings.tenant,
            details={"reason": "throttled", "client": client},
            settings=settings,
        )
        return SignIn(None, throttled=True)
    account = session.scalar(select(Account).where(Account.username == username))
    ok = passwords.check_password(account.password_hash if account else None, password)
    if not ok or account is None or account.disabled:
        throttle.note_failure(session, settings, username=username, client=client)
        audit.record(
            session,
            actor=username[:100],
            action="login",
            outcome="failure",
            tenant=settings.tenant,
            details={"client": client},
            settings=settings,
        )
        return SignIn(None)
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    account.last_login_at = utcnow()
    throttle.clear(session, username=username)
    audit.record(
        session,
        actor=account.username,
        action="login",
        outcome="success",
        tenant=settings.tenant,
        details={"client": client},
        settings=settings,
    )

    return SignIn(account)


def update_account(
    session: Session,
    settings: Settings,
    account_id: int,
    *,
    actor: str,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> Account:
    """Change an account's role, disabled flag or password."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    changed: dict[str, object] = {}
    if role is not None:
        changed["role"] = {"before": account.role, "after": role.value}
        account.role = role.value
    if disabled is not None:
        changed["disabled"] = disabled
        account.disabled = disabled
    if password is not None:
        if len(password) < passwords.MIN_LENGTH:
            raise ValidationFailed(
                f"a password has at least {passwords.MIN_LENGTH} characters"
            )
        account.password_hash = passwords.hash_password(password)
        changed["password"] = "changed"
    audit.record(
        session,
        actor=actor,
        action="account.update",
        outcome="success",
        tenant=settings.tenant,
        target=f"account:{account.username}",
        details=changed,
        settings=settings,
    )

    return account
