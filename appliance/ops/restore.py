"""Restore a backup archive over the appliance's database and data directory.

Stop the web service and the workers first. The archive is checked member by member
against its manifest before anything is touched; then the database is replaced, the
data directory's files are put back, the schema is brought up to this version's
revisions, and the audit chain is verified.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.db import migrate
from appliance.db.engine import Database
from appliance.ops import postgres
from appliance.ops.archive import (
    DATA_PREFIX,
    POSTGRES_MEMBER,
    SQLITE_MEMBER,
    BackupError,
    Manifest,
    unpack_archive,
)
from appliance.ops.backup import SETTINGS_MEMBER, sqlite_copy

logger = logging.getLogger(__name__)


@dataclass
class RestoreReport:
    """What a restore did and whether the audit chain holds afterwards."""

    manifest: Manifest
    files_restored: int
    audit_problems: list[str]
    settings_file_in_backup: bool

    @property
    def ok(self) -> bool:
        """Whether the restored audit chain verified clean."""
        return not self.audit_problems


def _restore_database(database: Database, manifest: Manifest, unpacked: Path) -> None:
    """Replace the database's content with the archived one."""
    backend = database.url.get_backend_name()
    if backend != manifest.database_backend:
        raise BackupError(
            f"backup is of a {manifest.database_backend} database, "
            f"this appliance uses {backend}"
        )
    if database.is_sqlite:
        if not database.url.database:
            raise BackupError("cannot restore into an in-memory SQLite database")
        database.dispose()
        target = Path(database.url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The backup API writes into the live file page by page under its lock, so
        # a process that still has it open sees the old or the new database whole.
        sqlite_copy(unpacked / SQLITE_MEMBER, target)
    else:
        database.dispose()
        postgres.restore(database.url, unpacked / POSTGRES_MEMBER)


def _restore_data_files(settings: Settings, unpacked: Path) -> int:
    """Put the archived data-directory files back; return how many."""
    source = unpacked / DATA_PREFIX
    if not source.is_dir():
        return 0
    data_dir = settings.resolved_data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    # Folders in the backup replace their live counterparts whole (an index
    # generation left over next to the restored one would be wrong).
    for top in sorted(source.iterdir()):
        live = data_dir / top.name
        if top.is_dir():
            if live.is_dir():
                shutil.rmtree(live)
            shutil.copytree(top, live)
            count += sum(1 for p in live.rglob("*") if p.is_file())
        else:
            shutil.copy2(top, live)
            count += 1

    return count


def restore_backup(settings: Settings, archive: Path) -> RestoreReport:
    """Restore ``archive`` into the database and data directory of ``settings``.

    Raises:
        BackupError: the archive is damaged or does not fit this appliance's
            database; nothing has been changed then.
    """
    from appliance.governance import audit

    database = Database(settings.resolved_database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="appliance-restore-") as tmp:
            unpacked = Path(tmp)
            manifest = unpack_archive(archive, unpacked)
            _restore_database(database, manifest, unpacked)
            restored = _restore_data_files(settings, unpacked)
            has_settings = (unpacked / SETTINGS_MEMBER).is_file()
        database = Database(settings.resolved_database_url)
        migrate.upgrade(database)
        with database.read_session() as session:
            problems = audit.verify(session, settings)
    finally:
        database.dispose()
    report = RestoreReport(
        manifest=manifest,
        files_restored=restored,
        audit_problems=[f"event {p.event_id}: {p.reason}" for p in problems],
        settings_file_in_backup=has_settings,
    )
    logger.info(
        "backup restored",
        extra={"files": restored, "audit_problems": len(report.audit_problems)},
    )

    return report
