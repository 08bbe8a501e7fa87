"""The ``appliance backup`` and ``appliance restore`` commands."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from appliance.cli import Context, pass_context


@click.command("backup")
@click.argument("target", type=click.Path(path_type=Path), required=False)
@click.option("--with-models", is_flag=True, help="Include the model files (large).")
@pass_context
def backup(ctx: Context, target: Path | None, with_models: bool) -> None:
    """Write a backup archive: database, audit trail, vault, index, keys.

    TARGET defaults to appliance-backup-<UTC time>.tar.gz in the current directory.
    """
    from appliance.ops.backup import create_backup

    if target is None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = Path(f"appliance-backup-{stamp}.tar.gz")
    manifest = create_backup(ctx.settings, target, with_models=with_models)
    click.echo(
        json.dumps(
            {
                "archive": str(target),
                "database": manifest.database_backend,
                "revisions": manifest.revisions,
                "audit_rows": manifest.audit_rows,
                "files": len(manifest.files),
            }
        )
    )


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the data.")
@pass_context
def restore(ctx: Context, archive: Path, yes: bool) -> None:
    """Restore ARCHIVE over the database and data directory (services stopped).

    Exits 1 when the restored audit chain does not verify.
    """
    from appliance.ops.restore import restore_backup

    if not yes:
        click.confirm(
            "This replaces the database and the data directory. Go on?", abort=True
        )
    report = restore_backup(ctx.settings, archive)
    click.echo(
        json.dumps(
            {
                "archive": str(archive),
                "created_at": report.manifest.created_at,
                "files_restored": report.files_restored,
                "audit_rows": report.manifest.audit_rows,
                "audit_problems": report.audit_problems,
            }
        )
    )
    if report.settings_file_in_backup:
        click.echo(
            "note: the backup holds settings.toml; put it back by hand where "
            "APPLIANCE_SETTINGS_FILE points if it was lost.",
            err=True,
        )
    if not report.ok:
        sys.exit(1)
