"""``appliance audit …`` and ``appliance phases …`` commands."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TextIO

import click

from appliance.cli import Context, pass_context


@click.group()
def audit() -> None:
    """Verify and export the audit trail."""


@audit.command("verify")
@pass_context
def audit_verify(ctx: Context) -> None:
    """Check the hash chain and its signed anchor; exit 1 on any problem."""
    from appliance.governance import audit as trail

    with ctx.db.read_session() as session:
        problems = trail.verify(session, ctx.settings)
    for problem in problems:
        click.echo(f"audit row {problem.event_id}: {problem.reason}", err=True)
    if problems:
        click.echo(f"audit trail: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("audit trail: intact")


@audit.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cef", "jsonl"]),
    default="jsonl",
    show_default=True,
)
@click.option("--since-id", type=int, default=0, help="Only rows after this id.")
@click.option(
    "--output", type=click.File("w", encoding="utf-8"), default="-", show_default=True
)
@pass_context
def audit_export(ctx: Context, fmt: str, since_id: int, output: TextIO) -> None:
    """Write audit rows as CEF syslog lines or JSON lines, oldest first."""
    from appliance.governance import audit_export as export

    try:
        app_version = version("appliance")
    except PackageNotFoundError:
        app_version = "0"
    with ctx.db.read_session() as session:
        for event in export.events(session, since_id):
            line = (
                export.cef_line(event, app_version)
                if fmt == "cef"
                else export.jsonl_line(event)
            )
            output.write(line + "\n")


@click.group()
def phases() -> None:
    """Show and set rollout phases per tenant and task."""


@phases.command("set")
@click.argument("phase", type=click.Choice(["read_only", "suggest", "automate"]))
@click.option("--tenant", help="Tenant (default: APPLIANCE_TENANT).")
@click.option("--task", default="*", show_default=True, help="Task, or * for all.")
@click.option("--actor", default="cli", show_default=True)
@pass_context
def phases_set(
    ctx: Context, phase: str, tenant: str | None, task: str, actor: str
) -> None:
    """Set the rollout phase of a tenant or of one of its tasks (audited)."""
    from appliance.governance import phases as service

    with ctx.db.session() as session:
        service.set_phase(
            session,
            ctx.settings,
            tenant=tenant or ctx.settings.tenant,
            task=task,
            phase=phase,
            actor=f"cli:{actor}",
        )
    click.echo(f"{tenant or ctx.settings.tenant}/{task}: {phase}")


@phases.command("list")
@pass_context
def phases_list(ctx: Context) -> None:
    """Print the default phase and every phase set."""
    from appliance.governance import phases as service

    click.echo(f"default: {ctx.settings.rollout_phase}")
    with ctx.db.read_session() as session:
        for row in service.listing(session):
            click.echo(f"{row.tenant}/{row.task}: {row.phase} (by {row.updated_by})")
