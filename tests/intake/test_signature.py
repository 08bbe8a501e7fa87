"""Webhook signatures: HMAC over "timestamp.body" within a time window."""

from __future__ import annotations

import pytest

from appliance.errors import Unauthorized
from appliance.intake.signature import sign, verify

BODY = b'{"incident_id": "1"}'


def test_a_signed_body_verifies_with_or_without_prefix() -> None:
    signature = sign("s", "1000", BODY)

    assert verify("s", "1000", signature, BODY, max_skew_seconds=5, clock=lambda: 1003)
    bare = signature.removeprefix("sha256=")
    assert verify("s", "1000", bare, BODY, max_skew_seconds=5, clock=lambda: 1000)


@pytest.mark.parametrize(
    ("timestamp", "body", "now", "reason"),
    [
        ("1000", BODY + b" ", 1000, "does not match"),
        ("1001", BODY, 1000, "does not match"),  # timestamp is part of the MAC
        ("1000", BODY, 1006, "window"),
        ("1000", BODY, 994, "window"),
        ("soon", BODY, 1000, "Unix seconds"),
    ],
)
def test_tampering_and_replays_are_refused(
    timestamp: str, body: bytes, now: float, reason: str
) -> None:
    signature = sign("s", "1000", BODY)

    with pytest.raises(Unauthorized, match=reason):
        verify("s", timestamp, signature, body, max_skew_seconds=5, clock=lambda: now)


def test_missing_headers_are_refused() -> None:
    with pytest.raises(Unauthorized):
        verify("s", None, None, BODY, max_skew_seconds=5)
