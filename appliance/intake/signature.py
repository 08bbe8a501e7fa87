"""HMAC signatures of connector webhooks.

A connector signs ``"{timestamp}.{body}"`` with HMAC-SHA256 and the shared
``webhook_secret``, and sends the Unix time in ``X-Appliance-Timestamp`` and the hex
digest (optionally prefixed ``sha256=``) in ``X-Appliance-Signature``. A timestamp
further than ``webhook_max_skew_seconds`` from now is refused, so a captured request
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from appliance.errors import Unauthorized

TIMESTAMP_HEADER = "X-Appliance-Timestamp"
SIGNATURE_HEADER = "X-Appliance-Signature"
PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value of ``body`` sent at ``timestamp``."""
    message = timestamp.encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    max_skew_seconds: float,
    clock: Callable[[], float] = time.time,
) -> int:
    """Check a webhook's timestamp and signature; return the timestamp.

    Raises:
        Unauthorized: a header is missing, the timestamp is outside the window, or
            the signature does not match.
    """
    if not timestamp or not signature:
        raise Unauthorized(
            f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required"
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Unauthorized(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    if abs(clock() - sent_at) > max_skew_seconds:
        raise Unauthorized("the webhook timestamp is outside the allowed window")
    given = signature if signature.startswith(PREFIX) else PREFIX + signature
    if not hmac.compare_digest(given, sign(secret, timestamp, body)):
        raise Unauthorized("the webhook signature does not match")

    return sent_at
