"""API keys (shown once, revocable) and user accounts."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from appliance.admin.blueprint import actor, app_state, bp, form_text, page
from appliance.api.openapi import document
from appliance.auth import accounts, api_keys
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.auth.tables import Account, ApiKey
from appliance.errors import ValidationFailed


def _role(value: str) -> Role:
    """Parse a role from a form."""
    try:
        return Role(value)
    except ValueError as exc:
        raise ValidationFailed("choose viewer, analyst or admin") from exc


def _keys_page(new_key: str | None = None) -> ResponseReturnValue:
    """Render the keys page, with a just-created key shown this once."""
    with app_state().db.read_session() as session:
        keys = list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))

    return page(
        "keys.html",
        keys=keys,
        new_key=new_key,
        roles=[r.value for r in Role],
        scopes=sorted(api_keys.KNOWN_SCOPES),
    )


@bp.get("/settings/keys")
@document(
    "List API keys and offer a form to create one.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="keys")
def key_list() -> ResponseReturnValue:
    """List API keys and offer a form to create one."""
    return _keys_page()


@bp.post("/settings/keys")
@document(
    "Create a key and show it once; only its digest is stored.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="keys")
def create_key() -> ResponseReturnValue:
    """Create a key and show it once; only its digest is stored."""
    state = app_state()
    with state.db.session() as session:
        _, key = api_keys.create_key(
            session,
            state.settings,
            name=form_text("name", limit=100),
            role=_role(form_text("role", limit=16)),
            scopes=request.form.getlist("scopes"),
            actor=actor(),
        )

    return _keys_page(new_key=key)


@bp.post("/settings/keys/<key_id>/revoke")
@document(
    "Revoke a key; requests presenting it are refused from now on.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="keys")
def revoke_key(key_id: str) -> ResponseReturnValue:
    """Revoke a key; requests presenting it are refused from now on."""
    state = app_state()
    with state.db.session() as session:
        api_keys.revoke_key(session, state.settings, key_id, actor=actor())
    flash(f"Key {key_id} revoked.")

    return redirect(url_for("admin.key_list"), 303)


@bp.get("/settings/users")
@document(
    "List accounts and offer forms to add one or change one.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="users")
def user_list() -> ResponseReturnValue:
    """List accounts and offer forms to add one or change one."""
    with app_state().db.read_session() as session:
        users = list(session.scalars(select(Account).order_by(Account.username)))

    return page("users.html", users=users, roles=[r.value for r in Role])


@bp.post("/settings/users")
@document(
    "Create an account with a role and an initial password.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="users")
def create_user() -> ResponseReturnValue:
    """Create an account with a role and an initial password."""
    state = app_state()
    username = form_text("username", limit=100)
    with state.db.session() as session:
        accounts.create_account(
            session,
            state.settings,
            username=username,
            password=request.form.get("password", "")[:1024] or None,
            role=_role(form_text("role", limit=16)),
            actor=actor(),
        )
    flash(f"Account {username} created.")

    return redirect(url_for("admin.user_list"), 303)


@bp.post("/settings/users/<int:account_id>")
@document(
    "Change an account's role, or disable or enable it.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="users")
def update_user(account_id: int) -> ResponseReturnValue:
    """Change an account's role, or disable or enable it."""
    state = app_state()
    with state.db.session() as session:
        account = accounts.update_account(
            session,
            state.settings,
            account_id,
            actor=actor(),
            role=_role(form_text("role", limit=16)),
            disabled=form_text("disabled", limit=5) == "yes",
        )
        username = account.username
    flash(f"Account {username} updated.")

    return redirect(url_for("admin.user_list"), 303)
