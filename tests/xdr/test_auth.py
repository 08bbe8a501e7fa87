"""API key headers for standard and advanced keys."""

from __future__ import annotations

import hashlib

import pytest

from appliance.xdr.auth import auth_headers


def test_advanced_key_headers() -> None:
    headers = auth_headers("42", "secret-key", "advanced", clock=lambda: 1700000000.7)

    nonce, stamp = headers["x-xdr-nonce"], headers["x-xdr-timestamp"]
    assert len(nonce) == 64 and nonce.isalnum()
    assert stamp == "1700000000000"  # milliseconds, whole seconds
    expected = hashlib.sha256(f"secret-key{nonce}{stamp}".encode()).hexdigest()
    assert headers["Authorization"] == expected
    assert headers["x-xdr-auth-id"] == "42"


def test_each_call_gets_a_fresh_nonce() -> None:
    first = auth_headers("1", "k", "advanced")["x-xdr-nonce"]

    assert first != auth_headers("1", "k", "advanced")["x-xdr-nonce"]


def test_standard_key_sends_the_key() -> None:
    assert auth_headers("1", "k", "standard") == {
        "x-xdr-auth-id": "1",
        "Authorization": "k",
    }


def test_unknown_key_type_is_refused() -> None:
    with pytest.raises(ValueError, match="standard or advanced|one of"):
        auth_headers("1", "k", "oauth")
