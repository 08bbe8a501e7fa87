"""Shared fixtures: settings, a migrated database, the app and its test client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from appliance import create_app
from appliance.config import Settings, load_settings
from appliance.db import migrate
from appliance.db.engine import Database

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
POSTGRES_URL = os.environ.get("APPLIANCE_TEST_POSTGRES_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs on PostgreSQL, so `-m "not postgres"` skips them."""
    for item in items:
        if "[postgres]" in item.nodeid:
            item.add_marker(pytest.mark.postgres)


def _settings_for(tmp_path: Path, database_url: str | None) -> Settings:
    """Return settings isolated in a temporary data directory."""
    overrides: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "log_level": "WARNING",
        "secret_key": "test-secret-key-not-for-production",
        "job_backoff_base_seconds": 0.05,
        "job_backoff_max_seconds": 0.2,
        "worker_poll_seconds": 0.05,
    }
    if database_url:
        overrides["database_url"] = database_url
    return load_settings(overrides, environ={})


class _PostgresDatabases:
    """Creates one fresh database per test, copied from a migrated template."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(
            self.url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self.template = f"tmpl_{uuid.uuid4().hex[:12]}"
        self._create(self.template)
        template_db = Database(
            self.url.set(database=self.template).render_as_string(False)
        )
        migrate.upgrade(template_db)
        template_db.dispose()

    def _create(self, name: str, template: str | None = None) -> None:
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def new(self, migrated: bool = True) -> tuple[str, str]:
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._create(name, self.template if migrated else None)
        return name, self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[_PostgresDatabases]:
    """Give access to the PostgreSQL server that scripts/test started."""
    if not POSTGRES_URL:
        pytest.skip("APPLIANCE_TEST_POSTGRES_URL is not set (./scripts/test sets it)")
    databases = _PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings for an isolated SQLite appliance."""
    return _settings_for(tmp_path, None)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """Return a migrated SQLite database."""
    database = Database(settings.resolved_database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Return settings for a migrated database: once SQLite, once PostgreSQL."""
    if request.param == "sqlite":
        settings = _settings_for(tmp_path, None)
        database = Database(settings.resolved_database_url)
        migrate.upgrade(database)
        database.dispose()
        yield settings
        return
    databases: _PostgresDatabases = request.getfixturevalue("postgres_databases")
    name, url = databases.new()
    yield _settings_for(tmp_path, url)
    databases.drop(name)


@pytest.fixture
def any_db(any_settings: Settings) -> Iterator[Database]:
    """Return a migrated database on SQLite and on PostgreSQL."""
    database = Database(any_settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database) -> Iterator[Flask]:
    """Return the appliance's app on the migrated SQLite database."""
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["appliance"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client of the app."""
    return app.test_client()
