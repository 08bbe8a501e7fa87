"""Apply and inspect Alembic migrations without an alembic.ini on disk."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from appliance.db.engine import Database

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    """Return an Alembic config that points at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine

    return config


def head_revisions(db: Database) -> set[str]:
    """Return the revisions the code expects the database to be at."""
    return set(ScriptDirectory.from_config(alembic_config(db)).get_heads())


def current_revisions(db: Database) -> set[str]:
    """Return the revisions the database is at (empty when never migrated)."""
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_current(db: Database) -> bool:
    """Whether the database schema matches the code's migrations."""
    return current_revisions(db) == head_revisions(db)


def upgrade(db: Database, revision: str = "heads") -> None:
    """Apply migrations up to ``revision``; safe to run on every start."""
    command.upgrade(alembic_config(db), revision)
    logger.info("database upgraded", extra={"revisions": sorted(current_revisions(db))})


def downgrade(db: Database, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` removes every table)."""
    command.downgrade(alembic_config(db), revision)
