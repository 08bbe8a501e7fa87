"""Accounts of people: list, create and change them (admin only)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth import accounts
from appliance.auth.guard import current_principal, require_role
from appliance.auth.roles import Role
from appliance.auth.tables import Account

bp = Blueprint("users", __name__, url_prefix="/api/v1/users")


class AccountOut(BaseModel):
    """An account as the API shows it (never its password hash)."""

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        """Serialize an account row."""
        return cls(
            id=account.id,
            username=account.username,
            role=Role(account.role),
            disabled=account.disabled,
            created_at=account.created_at,
            last_login_at=account.last_login_at,
        )


class AccountList(BaseModel):
    """Every account."""

    accounts: list[AccountOut]


class AccountIn(BaseModel):
    """A new account; no password makes an SSO-only account."""

    model_config = {"extra": "forbid"}

    username: str = Field(min_length=1, max_length=100)
    password: str | None = Field(default=None, max_length=1024)
    role: Role


class AccountChange(BaseModel):
    """Changes to an account."""

    model_config = {"extra": "forbid"}

    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


def _actor() -> str:
    """Return the calling admin's name."""
    principal = current_principal()
    return principal.name if principal else "unknown"


@bp.get("")
@document("List accounts.", tags=["users"], responses={200: AccountList})
@require_role(Role.ADMIN)
def list_accounts() -> ResponseReturnValue:
    """Return every account."""
    with state(current_app).db.read_session() as session:
        rows = session.scalars(select(Account).order_by(Account.username))
        body = AccountList(accounts=[AccountOut.of(a) for a in rows])

    return jsonify(body.model_dump(mode="json"))


@bp.post("")
@document(
    "Create an account.",
    tags=["users"],
    request=AccountIn,
    responses={201: AccountOut, 409: "Username taken"},
)
@require_role(Role.ADMIN)
def create_account() -> ResponseReturnValue:
    """Create an account with a role."""
    body = json_body(AccountIn)
    app_state = state(current_app)
    with app_state.db.session() as session:
        account = accounts.create_account(
            session,
            app_state.settings,
            username=body.username,
            password=body.password,
            role=body.role,
            actor=_actor(),
        )
        out = AccountOut.of(account)

    return jsonify(out.model_dump(mode="json")), 201


@bp.patch("/<int:account_id>")
@document(
    "Change an account's role, password or disabled flag.",
    tags=["users"],
    request=AccountChange,
    responses={200: AccountOut, 404: "No such account"},
)
@require_role(Role.ADMIN)
def change_account(account_id: int) -> ResponseReturnValue:
    """Apply the changes given."""
    body = json_body(AccountChange)
    app_state = state(current_app)
    with app_state.db.session() as session:
        account = accounts.update_account(
            session,
            app_state.settings,
            account_id,
            actor=_actor(),
            role=body.role,
            disabled=body.disabled,
            password=body.password,
        )
        out = AccountOut.of(account)

    return jsonify(out.model_dump(mode="json"))
