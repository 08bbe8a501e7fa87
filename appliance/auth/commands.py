"""``appliance users …`` and ``appliance keys …`` commands, to bootstrap access."""

from __future__ import annotations

import click

from appliance.cli import Context, pass_context

ROLES = ["viewer", "analyst", "admin"]


@click.group()
def users() -> None:
    """Manage accounts of people."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when omitted (never pass it on a shared shell).",
)
@pass_context
def users_create(ctx: Context, username: str, role: str, password: str) -> None:
    """Create an account with a role."""
    from appliance.auth import accounts
    from appliance.auth.roles import Role

    with ctx.db.session() as session:
        accounts.create_account(
            session,
            ctx.settings,
            username=username,
            password=password,
            role=Role(role),
            actor="cli",
        )
    click.echo(f"account {username} created with role {role}")


@click.group()
def keys() -> None:
    """Manage API keys of connectors."""


@keys.command("create")
@click.argument("name")
@click.option(
    "--scope", "scopes", multiple=True, required=True, help="Route group; repeat."
)
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@pass_context
def keys_create(ctx: Context, name: str, scopes: tuple[str, ...], role: str) -> None:
    """Create an API key and print it, this once."""
    from appliance.auth import api_keys
    from appliance.auth.roles import Role

    with ctx.db.session() as session:
        row, key = api_keys.create_key(
            session,
            ctx.settings,
            name=name,
            role=Role(role),
            scopes=list(scopes),
            actor="cli",
        )
        key_id = row.key_id
    click.echo(f"key id {key_id}; the key is shown once, store it now:", err=True)
    click.echo(key)


@keys.command("revoke")
@click.argument("key_id")
@pass_context
def keys_revoke(ctx: Context, key_id: str) -> None:
    """Revoke an API key."""
    from appliance.auth import api_keys

    with ctx.db.session() as session:
        api_keys.revoke_key(session, ctx.settings, key_id, actor="cli")
    click.echo(f"key {key_id} revoked")


@keys.command("list")
@pass_context
def keys_list(ctx: Context) -> None:
    """List API keys (never the keys themselves)."""
    from sqlalchemy import select

    from appliance.auth.tables import ApiKey

    with ctx.db.read_session() as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if row.revoked_at else "active"
            click.echo(
                f"{row.key_id}  {row.name}  {row.role}  {','.join(row.scopes)}  {state}"
            )
