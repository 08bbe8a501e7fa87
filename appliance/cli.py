"""The ``appliance`` command line.

Each domain keeps its commands beside its code and adds them in :func:`_add_commands`;
heavy libraries are imported inside the commands, so ``appliance --help`` stays quick.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from appliance.config import REPO_ROOT, Settings, load_settings
from appliance.db.engine import Database
from appliance.errors import ApplianceError
from appliance.log import configure_logging


class Context:
    """What every command shares: settings and, on demand, the database."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._db: Database | None = None

    @property
    def settings(self) -> Settings:
        """Return the effective settings, loaded once."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def db(self) -> Database:
        """Return the database, opened once."""
        if self._db is None:
            self._db = Database(self.settings.resolved_database_url)
        return self._db


pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def cli() -> None:
    """Run and operate the appliance."""


@cli.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--markdown", is_flag=True, help="Print the README's table of every setting."
)
@pass_context
def config_show(ctx: Context, as_json: bool, markdown: bool) -> None:
    """Print the effective settings, secrets masked."""
    if markdown:
        click.echo(settings_table())
        return
    rows = list(ctx.settings.masked())
    if as_json:
        click.echo(json.dumps({name: value for name, value, _ in rows}, indent=2))
        return
    width = max(len(name) for name, _, _ in rows)
    for name, value, help_text in rows:
        click.echo(f"{name:<{width}}  {value or '-'}")
        click.echo(f"{'':<{width}}  {help_text}", err=False)


def settings_table() -> str:
    """Return the Markdown table of every setting, its default and its help."""
    lines = ["| variable | default | what it does |", "| --- | --- | --- |"]
    for f in Settings.declared():
        default = "" if f.default is None else f"`{f.default}`"
        if f.metadata["secret"]:
            default = "(secret, no default)"
        lines.append(
            f"| `{Settings.env_name(f.name)}` | {default} | {f.metadata['help']} |"
        )
    return "\n".join(lines)


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@pass_context
def db_upgrade(ctx: Context, revision: str) -> None:
    """Apply migrations; safe to run on every start."""
    from appliance.db import migrate

    configure_logging(ctx.settings.log_level)
    migrate.upgrade(ctx.db, revision)
    click.echo(f"database at {', '.join(sorted(migrate.current_revisions(ctx.db)))}")


@db.command("downgrade")
@click.argument("revision")
@pass_context
def db_downgrade(ctx: Context, revision: str) -> None:
    """Revert migrations down to REVISION (``base`` drops every table)."""
    from appliance.db import migrate

    migrate.downgrade(ctx.db, revision)
    click.echo(
        f"database at {', '.join(sorted(migrate.current_revisions(ctx.db))) or 'base'}"
    )


@db.command("current")
@pass_context
def db_current(ctx: Context) -> None:
    """Print the schema revision and whether it is current; exit 1 if not."""
    from appliance.db import migrate

    current = sorted(migrate.current_revisions(ctx.db))
    heads = sorted(migrate.head_revisions(ctx.db))
    click.echo(f"current: {', '.join(current) or 'none'}; expected: {', '.join(heads)}")
    if current != heads:
        sys.exit(1)


@cli.command()
@click.option("--bind", help="Address to listen on (default: APPLIANCE_BIND).")
@pass_context
def serve(ctx: Context, bind: str | None) -> None:
    """Serve the HTTP API and admin pages with gunicorn."""
    config_file = ctx.settings.gunicorn_config or str(
        REPO_ROOT / "deploy" / "gunicorn.conf.py"
    )
    argv = ["gunicorn", "--config", config_file]
    if bind:
        argv += ["--bind", bind]
    argv.append("appliance.wsgi:app")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(str(gunicorn), argv)


@cli.command()
@click.option("--max-jobs", type=int, help="Exit after running this many jobs.")
@click.option("--idle-exit", is_flag=True, help="Exit when no job is runnable.")
@click.option("--kind", "kinds", multiple=True, help="Only claim jobs of this kind.")
@click.option(
    "--import",
    "modules",
    multiple=True,
    help="Import a module of plug-in job handlers.",
)
@pass_context
def worker(
    ctx: Context,
    max_jobs: int | None,
    idle_exit: bool,
    kinds: tuple[str, ...],
    modules: tuple[str, ...],
) -> None:
    """Claim and run jobs until stopped; SIGTERM finishes or releases the job."""
    from appliance.jobs.worker import Worker

    configure_logging(ctx.settings.log_level)
    runner = Worker(
        ctx.db, ctx.settings, kinds=list(kinds) or None, extra_modules=list(modules)
    )
    from appliance.llm.activation import attach
    from appliance.xdr.duties import attach as attach_xdr

    attach(runner)
    attach_xdr(runner)
    runner.install_signal_handlers()
    runner.run(max_jobs=max_jobs, idle_exit=idle_exit)


@cli.group()
def jobs() -> None:
    """Enqueue and inspect jobs."""


@jobs.command("enqueue")
@click.argument("kind")
@click.option("--payload", default="{}", help="JSON payload.")
@click.option("--key", help="Idempotency key; a second enqueue with it is a no-op.")
@pass_context
def jobs_enqueue(ctx: Context, kind: str, payload: str, key: str | None) -> None:
    """Add a job of KIND to the queue and print its id."""
    from appliance.jobs import queue

    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--payload") from None
    with ctx.db.session() as session:
        job, created = queue.enqueue(session, kind, data, idempotency_key=key)
        job_id = job.id
    click.echo(json.dumps({"job_id": job_id, "created": created}))


@cli.command()
@click.option("--once", is_flag=True, help="Exit after the demo jobs are done.")
@click.option("--bind", default="127.0.0.1:8080", show_default=True)
@pass_context
def demo(ctx: Context, once: bool, bind: str) -> None:
    """Run the whole appliance on embedded defaults and show it working."""
    from appliance.demo import run_demo

    configure_logging("WARNING")
    sys.exit(run_demo(ctx.settings, bind=bind, once=once))


def _add_commands() -> None:
    """Attach the commands that live beside their domains."""
    from appliance.enrich.commands import attack, enrich
    from appliance.retrieval.commands import index

    cli.add_command(enrich)
    cli.add_command(attack)
    cli.add_command(index)
    from appliance.llm.commands import models

    cli.add_command(models)
    from appliance.privacy.commands import scrub

    cli.add_command(scrub)
    from appliance.auth.commands import keys, users
    from appliance.governance.commands import audit, phases

    for group in (audit, phases, users, keys):
        cli.add_command(group)
    from appliance.xql.commands import xql

    cli.add_command(xql)
    from appliance.ops.commands import backup, restore

    cli.add_command(backup)
    cli.add_command(restore)
    from appliance.tasks.commands import triage

    cli.add_command(triage)
    from appliance.xdr.commands import xdr_sandbox

    cli.add_command(xdr_sandbox)
    from appliance.correlate.commands import cluster

    cli.add_command(cluster)


def main() -> None:
    """Run the command line; an appliance error prints its message and exits 2."""
    _add_commands()
    try:
        cli(standalone_mode=True)
    except ApplianceError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
