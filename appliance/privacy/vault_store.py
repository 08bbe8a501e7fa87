"""Keeping pseudonym vaults in the database, encrypted, until they expire.

The key is derived from ``APPLIANCE_SECRET_KEY``; when that is unset, a random key
is generated once into ``data_dir/vault.key`` (mode 0600). Losing the key loses the
vaults: tokens in old model output can then no longer be restored.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.errors import ApplianceError
from appliance.privacy.tables import PseudonymVaultRecord
from appliance.privacy.vault import PseudonymVault

logger = logging.getLogger(__name__)

KEY_FILE = "vault.key"


class VaultUnreadable(ApplianceError):
    """A stored vault cannot be decrypted (the key changed) or parsed."""

    code = "vault_unreadable"


def _key_file(path: Path) -> bytes:
    """Return the key in ``path``, creating it (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))
        try:
            # Linked into place: a racing process either wins or reads a whole key.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()

    return path.read_bytes().strip()


def vault_cipher(settings: Settings) -> Fernet:
    """Return the cipher that encrypts vaults at rest (AES-128-CBC with HMAC)."""
    if settings.secret_key:
        secret = settings.secret_key.encode()
    else:
        secret = _key_file(settings.resolved_data_dir / KEY_FILE)
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"appliance pseudonym vault",
        info=b"vault-v1",
    ).derive(secret)

    return Fernet(base64.urlsafe_b64encode(key))


def load_vault(
    session: Session, cipher: Fernet, incident_id: str, prefixes: set[str]
) -> PseudonymVault | None:
    """Return the incident's unexpired vault, or None.

    Raises:
        VaultUnreadable: the stored vault does not decrypt with the current key.
    """
    record = session.scalar(
        select(PseudonymVaultRecord).where(
            PseudonymVaultRecord.incident_id == incident_id,
            PseudonymVaultRecord.expires_at > utcnow(),
        )
    )
    if record is None:
        return None
    try:
        plain = cipher.decrypt(record.ciphertext)
        return PseudonymVault.from_json(plain, prefixes)
    except (InvalidToken, ValueError, KeyError) as exc:
        raise VaultUnreadable(
            f"the pseudonym vault of incident {incident_id} cannot be read"
        ) from exc


def save_vault(
    session: Session,
    cipher: Fernet,
    vault: PseudonymVault,
    settings: Settings,
) -> None:
    """Store the vault encrypted; its expiry restarts with every save."""
    if vault.incident_id is None:
        raise ValueError("only an incident's vault is stored")
    expires = utcnow() + dt.timedelta(days=settings.vault_retention_days)
    ciphertext = cipher.encrypt(vault.to_json())
    record = session.get(PseudonymVaultRecord, vault.vault_id)
    if record is None:
        # An expired vault of the same incident gives way to the new one.
        session.execute(
            delete(PseudonymVaultRecord).where(
                PseudonymVaultRecord.incident_id == vault.incident_id
            )
        )
        record = PseudonymVaultRecord(
            id=vault.vault_id,
            tenant=settings.tenant,
            incident_id=vault.incident_id,
            ciphertext=ciphertext,
            expires_at=expires,
        )
        session.add(record)
    else:
        record.ciphertext = ciphertext
        record.expires_at = expires
    session.flush()
    vault.changed = False


def purge_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Delete every vault past its expiry; return how many were deleted."""
    result = session.execute(
        delete(PseudonymVaultRecord).where(
            PseudonymVaultRecord.expires_at <= (now or utcnow())
        )
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    logger.info("expired pseudonym vaults purged", extra={"purged": count})

    return count
