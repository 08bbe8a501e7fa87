"""Back up everything the appliance keeps into one verifiable archive.

What is kept: the database (with the audit trail and the encrypted pseudonym vaults),
the keys in the data directory (``secret_key``, ``vault.key``), the FAISS index, the
imported enrichment and ATT&CK data, and, with ``with_models``, the model files. The
settings file named by ``APPLIANCE_SETTINGS_FILE`` is copied too: it may hold the
secret key that the audit anchor and the vaults depend on.

SQLite is copied with its online backup API and PostgreSQL with ``pg_dump``, so both
are consistent while the appliance runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import func, select

from appliance.config import Settings
from appliance.db import migrate
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.ops import postgres
from appliance.ops.archive import (
    DATA_PREFIX,
    POSTGRES_MEMBER,
    SQLITE_MEMBER,
    BackupError,
    Manifest,
    write_archive,
)

logger = logging.getLogger(__name__)

SETTINGS_MEMBER = "settings.toml"
# Left out of every backup: the live SQLite files (copied through the backup API
# instead) and diagnostic logs. Models only on request: they are large and come back
# from the offline bundle.
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
_ALWAYS_SKIPPED = {"logs"}
MODELS_DIR = "models"


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database consistently with its online backup API."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    # The connection context managers commit but do not close.
    src.close()
    dst.close()


def _data_files(
    settings: Settings, database: Database, with_models: bool
) -> list[Path]:
    """Return the data directory's files that belong in the backup."""
    data_dir = settings.resolved_data_dir
    skipped: set[Path] = set()
    if database.is_sqlite and database.url.database:
        live = Path(database.url.database).resolve()
        skipped = {live.with_name(live.name + suffix) for suffix in _SQLITE_SUFFIXES}
    top_skipped = set(_ALWAYS_SKIPPED)
    if not with_models:
        top_skipped.add(MODELS_DIR)
    files = []
    for path in sorted(data_dir.rglob("*")) if data_dir.is_dir() else []:
        relative = path.relative_to(data_dir)
        if not path.is_file() or path.resolve() in skipped:
            continue
        if relative.parts[0] in top_skipped or relative.name.endswith(".partial"):
            continue
        files.append(path)

    return files


def create_backup(
    settings: Settings, target: Path, *, with_models: bool = False
) -> Manifest:
    """Write a backup archive of the appliance to ``target`` and return its manifest.

    Raises:
        BackupError: the database could not be dumped or the archive written.
    """
    database = Database(settings.resolved_database_url)
    try:
        with database.read_session() as session:
            audit_rows = int(session.scalar(select(func.count(AuditEvent.id))) or 0)
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            database_backend=database.url.get_backend_name(),
            revisions=sorted(migrate.current_revisions(database)),
            audit_rows=audit_rows,
        )
        with tempfile.TemporaryDirectory(prefix="appliance-backup-") as tmp:
            staging = Path(tmp)
            if database.is_sqlite:
                if not database.url.database:
                    raise BackupError(
                        "an in-memory SQLite database cannot be backed up"
                    )
                sqlite_copy(Path(database.url.database), staging / SQLITE_MEMBER)
            elif database.is_postgres:
                postgres.dump(database.url, staging / POSTGRES_MEMBER)
            else:
                raise BackupError(f"no backup for {database.url.get_backend_name()}")
            data_dir = settings.resolved_data_dir
            for path in _data_files(settings, database, with_models):
                copy = staging / DATA_PREFIX / path.relative_to(data_dir)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
            if settings.settings_file and Path(settings.settings_file).is_file():
                shutil.copy2(settings.settings_file, staging / SETTINGS_MEMBER)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_archive(staging, manifest, target)
    finally:
        database.dispose()
    logger.info(
        "backup written",
        extra={"files": len(manifest.files), "audit_rows": manifest.audit_rows},
    )

    return manifest
