"""The appliance's own secret key: set by the operator, or generated once.

It signs session cookies and the audit anchor. When ``APPLIANCE_SECRET_KEY`` is
unset, a random key is generated into ``data_dir/secret_key`` (mode 0600) on first
start and read from there afterwards, so every process on the box shares it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from appliance.config import Settings

KEY_FILE = "secret_key"


def secret_key(settings: Settings, *, create: bool = True) -> str | None:
    """Return the secret key, generating the key file when allowed and missing."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.resolved_data_dir / KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: a racing process either wins or reads
    # the complete key, never a half-written file.
    draft = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()

    return path.read_text(encoding="utf-8").strip()


def derived_key(
    settings: Settings, purpose: str, *, create: bool = True
) -> bytes | None:
    """Return a key for one purpose, derived from the secret key (None if none)."""
    key = secret_key(settings, create=create)
    if key is None:
        return None

    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).digest()
