"""``appliance index …``: the similar-incident index."""

from __future__ import annotations

import json

import click

from appliance.cli import Context, pass_context


@click.group()
def index() -> None:
    """Manage the index of similar past incidents."""


@index.command("rebuild")
@pass_context
def index_rebuild(ctx: Context) -> None:
    """Re-embed every stored past incident and swap the new index in."""
    from appliance.retrieval.jobs import similar_incidents

    click.echo(json.dumps(similar_incidents(ctx.db, ctx.settings).rebuild()))


@index.command("query")
@click.argument("text")
@click.option("--k", type=int, help="How many to return (default: the setting).")
@click.option("--tenant", help="Only past incidents of this tenant.")
@pass_context
def index_query(ctx: Context, text: str, k: int | None, tenant: str | None) -> None:
    """Print the past incidents most similar to TEXT (a scrubbed summary)."""
    from appliance.retrieval.jobs import similar_incidents

    found = similar_incidents(ctx.db, ctx.settings).similar(text, tenant=tenant, k=k)
    click.echo(json.dumps([f.as_dict() for f in found], indent=2))
