"""Cortex XDR API key headers, standard and advanced.

Advanced keys send a 64-character random nonce, the time in milliseconds (whole
seconds) and ``Authorization`` = sha256 hex of key + nonce + timestamp; standard keys
send the key itself. Both send the key id in ``x-xdr-auth-id``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from collections.abc import Callable

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 64
KEY_TYPES = ("standard", "advanced")


def advanced_signature(api_key: str, nonce: str, timestamp: str) -> str:
    """Return the ``Authorization`` value of an advanced key."""
    return hashlib.sha256(f"{api_key}{nonce}{timestamp}".encode()).hexdigest()


def auth_headers(
    api_key_id: str,
    api_key: str,
    key_type: str,
    clock: Callable[[], float] = time.time,
) -> dict[str, str]:
    """Return the headers that authenticate one call.

    Raises:
        ValueError: ``key_type`` is neither standard nor advanced.
    """
    if key_type == "standard":
        return {"x-xdr-auth-id": api_key_id, "Authorization": api_key}
    if key_type != "advanced":
        raise ValueError(f"XDR key type must be one of {KEY_TYPES}, not {key_type!r}")
    nonce = "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
    timestamp = str(int(clock()) * 1000)

    return {
        "x-xdr-auth-id": api_key_id,
        "x-xdr-nonce": nonce,
        "x-xdr-timestamp": timestamp,
        "Authorization": advanced_signature(api_key, nonce, timestamp),
    }
