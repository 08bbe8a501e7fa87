"""Dump and restore a PostgreSQL database with pg_dump and pg_restore.

The connection goes to the tools through libpq's environment variables, so the
password never appears on a command line that ``ps`` shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from appliance.ops.archive import BackupError


def libpq_environment(url: URL) -> dict[str, str]:
    """Return the environment that points libpq tools at the database of ``url``."""
    env = dict(os.environ)
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for name, value in values.items():
        if value:
            env[name] = str(value)
        else:
            env.pop(name, None)

    return env


def _run(tool: str, args: list[str], url: URL) -> None:
    """Run one libpq tool; its failure is a BackupError with the tool's message."""
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} is not installed (Debian: postgresql-client)")
    result = subprocess.run(
        [executable, *args],
        env=libpq_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[-2000:]}")


def dump(url: URL, target: Path) -> None:
    """Write the whole database to ``target`` in pg_dump's custom format."""
    _run(
        "pg_dump", ["--format=custom", "--no-owner", "--no-acl", "-f", str(target)], url
    )


def restore(url: URL, source: Path) -> None:
    """Replace the database's objects with those in the dump at ``source``.

    Every table of the current schema is dropped first, so tables that a newer
    revision added do not survive next to the restored ones; ``appliance db upgrade``
    brings the restored schema forward afterwards.
    """
    _run(
        "psql",
        [
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--command=DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
        ],
        url,
    )
    _run(
        "pg_restore",
        [
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            url.database or "",
            str(source),
        ],
        url,
    )
