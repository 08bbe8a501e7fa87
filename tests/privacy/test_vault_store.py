from __future__ import annotations

import datetime as dt
import stat

import pytest
from sqlalchemy import select

from appliance.config import Settings, load_settings
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.jobs.registry import JobContext
from appliance.privacy.jobs import purge_vaults
from appliance.privacy.tables import PseudonymVaultRecord
from appliance.privacy.vault import PseudonymVault
from appliance.privacy.vault_store import (
    KEY_FILE,
    VaultUnreadable,
    load_vault,
    purge_expired,
    save_vault,
    vault_cipher,
)

PREFIXES = {"USER"}


def stored(db: Database, settings: Settings, incident: str = "INC-1") -> PseudonymVault:
    vault = PseudonymVault(PREFIXES, incident_id=incident)
    vault.token_for("USER", "tgreenwood")
    with db.session() as session:
        save_vault(session, vault_cipher(settings), vault, settings)
    return vault


def test_vault_is_encrypted_at_rest(any_db: Database, any_settings: Settings) -> None:
    vault = stored(any_db, any_settings)

    with any_db.read_session() as session:
        record = session.scalars(select(PseudonymVaultRecord)).one()
        again = load_vault(session, vault_cipher(any_settings), "INC-1", PREFIXES)

    assert b"tgreenwood" not in record.ciphertext
    assert again is not None
    assert again.restore(vault.token_for("USER", "tgreenwood")) == "tgreenwood"


def test_other_key_cannot_read(db: Database, settings: Settings, tmp_path) -> None:
    stored(db, settings)
    other = load_settings({**_overrides(settings), "secret_key": "another"}, environ={})

    with db.read_session() as session, pytest.raises(VaultUnreadable):
        load_vault(session, vault_cipher(other), "INC-1", PREFIXES)


def _overrides(settings: Settings) -> dict[str, object]:
    return {"data_dir": settings.data_dir, "database_url": settings.database_url}


def test_key_file_is_generated_private(settings: Settings) -> None:
    keyless = load_settings({"data_dir": settings.data_dir}, environ={})

    first = vault_cipher(keyless).encrypt(b"x")
    mode = stat.S_IMODE((keyless.resolved_data_dir / KEY_FILE).stat().st_mode)

    assert mode == 0o600
    assert vault_cipher(keyless).decrypt(first) == b"x"


def test_expired_vaults_are_gone_and_purged(db: Database, settings: Settings) -> None:
    stored(db, settings)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(
        days=settings.vault_retention_days + 1
    )

    with db.session() as session:
        assert purge_expired(session, dt.datetime.now(dt.UTC)) == 0
        assert purge_expired(session, later) == 1
        assert load_vault(session, vault_cipher(settings), "INC-1", PREFIXES) is None


def test_purge_job_deletes_and_audits(db: Database, settings: Settings) -> None:
    stored(db, settings)
    with db.session() as session:
        record = session.scalars(select(PseudonymVaultRecord)).one()
        record.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    ctx = JobContext(db, settings, "w1", 7, "privacy.purge_vaults", {}, 1)

    result = purge_vaults(ctx)
    with db.session() as session:
        ctx.run_deferred(session)
    with db.read_session() as session:
        left = session.scalars(select(PseudonymVaultRecord)).all()
        events = session.scalars(select(AuditEvent)).all()

    assert result["expired"] == 1
    assert left == []
    assert events[-1].details == {"purged": 1}
