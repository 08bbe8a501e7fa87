"""Backup and restore: database, audit trail, vault, FAISS index and keys."""

from __future__ import annotations

import tarfile
from pathlib import Path

import faiss
import numpy as np
import pytest
from sqlalchemy import func, select

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent, Job
from appliance.governance import audit
from appliance.jobs import queue
from appliance.ops.archive import BackupError
from appliance.ops.backup import create_backup
from appliance.ops.restore import restore_backup
from appliance.privacy.vault import PseudonymVault
from appliance.privacy.vault_store import load_vault, save_vault, vault_cipher


def _audit(db: Database, settings: Settings, action: str) -> None:
    with db.session() as session:
        audit.record(
            session, actor="admin", action=action, outcome="info", settings=settings
        )


def _index(settings: Settings) -> Path:
    path = settings.resolved_data_dir / "retrieval" / "index.faiss"
    path.parent.mkdir(parents=True, exist_ok=True)
    index = faiss.IndexFlatIP(4)
    index.add(np.eye(4, dtype=np.float32))
    faiss.write_index(index, str(path))
    return path


def _populate(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    for n in range(3):
        _audit(db, settings, f"settings.change.{n}")
    vault = PseudonymVault({"USER"}, incident_id="inc-42")
    vault.token_for("USER", "alice@example.com")
    with db.session() as session:
        save_vault(session, vault_cipher(settings), vault, settings)
    _index(settings)
    (settings.resolved_data_dir / "vault.key").write_text("k" * 44)
    return db


def test_restore_brings_back_database_audit_vault_and_index(
    any_settings: Settings, tmp_path: Path
) -> None:
    db = _populate(any_settings)
    archive = tmp_path / "backup.tar.gz"

    manifest = create_backup(any_settings, archive)

    assert manifest.audit_rows == 3
    assert "data/retrieval/index.faiss" in manifest.files
    assert "data/vault.key" in manifest.files
    # Mutate everything after the backup.
    for n in range(2):
        _audit(db, any_settings, f"later.{n}")
    with db.session() as session:
        queue.enqueue(session, "bench.noop", {})
    (any_settings.resolved_data_dir / "retrieval" / "index.faiss").write_bytes(b"x")
    (any_settings.resolved_data_dir / "retrieval" / "stale.faiss").write_bytes(b"y")
    db.dispose()

    report = restore_backup(any_settings, archive)

    assert report.ok, report.audit_problems
    db = Database(any_settings.resolved_database_url)
    with db.read_session() as session:
        assert session.scalar(select(func.count(AuditEvent.id))) == 3
        assert session.scalar(select(func.count(Job.id))) == 0
        assert audit.verify(session, any_settings) == []
        vault = load_vault(session, vault_cipher(any_settings), "inc-42", {"USER"})
    db.dispose()
    assert vault is not None
    assert vault.value_of(vault.token_for("USER", "alice@example.com")) == (
        "alice@example.com"
    )
    retrieval = any_settings.resolved_data_dir / "retrieval"
    assert faiss.read_index(str(retrieval / "index.faiss")).ntotal == 4
    assert not (retrieval / "stale.faiss").exists()


@pytest.mark.usefixtures("db")
def test_restored_chain_still_catches_tampering(
    settings: Settings, tmp_path: Path
) -> None:
    db = _populate(settings)
    archive = tmp_path / "backup.tar.gz"
    create_backup(settings, archive)
    db.dispose()

    restore_backup(settings, archive)

    db = Database(settings.resolved_database_url)
    with db.session() as session:
        session.get_one(AuditEvent, 2).action = "forged"
    with db.read_session() as session:
        problems = audit.verify(session, settings)
    db.dispose()
    assert [p.event_id for p in problems] == [2]


@pytest.mark.usefixtures("db")
def test_damaged_archive_is_refused_before_anything_changes(
    settings: Settings, tmp_path: Path
) -> None:
    db = _populate(settings)
    archive = tmp_path / "backup.tar.gz"
    create_backup(settings, archive)
    _audit(db, settings, "after.backup")
    db.dispose()
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    (unpacked / "data" / "vault.key").write_text("tampered")
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(forged, "w:gz") as tar:
        for path in sorted(unpacked.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(unpacked).as_posix())

    with pytest.raises(BackupError, match="sha256"):
        restore_backup(settings, forged)

    db = Database(settings.resolved_database_url)
    with db.read_session() as session:
        assert session.scalar(select(func.count(AuditEvent.id))) == 4
    db.dispose()


@pytest.mark.usefixtures("db")
def test_backup_of_sqlite_does_not_restore_into_postgres(
    settings: Settings, tmp_path: Path
) -> None:
    db = _populate(settings)
    db.dispose()
    archive = tmp_path / "backup.tar.gz"
    create_backup(settings, archive)
    other = Settings(**{**settings.__dict__, "database_url": "postgresql://x@h/db"})

    with pytest.raises(BackupError, match="sqlite"):
        restore_backup(other, archive)


@pytest.mark.usefixtures("db")
def test_models_are_left_out_unless_asked(settings: Settings, tmp_path: Path) -> None:
    db = _populate(settings)
    db.dispose()
    model = settings.resolved_data_dir / "models" / "tiny.gguf"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"GGUF")

    without = create_backup(settings, tmp_path / "a.tar.gz")
    with_models = create_backup(settings, tmp_path / "b.tar.gz", with_models=True)

    assert "data/models/tiny.gguf" not in without.files
    assert "data/models/tiny.gguf" in with_models.files
    assert "data/appliance.db" not in with_models.files
