"""Every Alembic branch upgrades, matches the tables, downgrades and upgrades again."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from appliance.db import migrate
from appliance.db.engine import Database
from appliance.db.metadata import load_metadata


def _schema_diff(db: Database) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, load_metadata())


def test_migrations_match_the_tables_and_round_trip(any_db):
    assert migrate.is_current(any_db)
    assert _schema_diff(any_db) == []

    migrate.downgrade(any_db, "base")
    remaining = set(inspect(any_db.engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()

    migrate.upgrade(any_db)
    assert migrate.is_current(any_db)
    assert _schema_diff(any_db) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db):
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_is_safe_to_repeat(db):
    before = migrate.current_revisions(db)

    migrate.upgrade(db)

    assert migrate.current_revisions(db) == before
