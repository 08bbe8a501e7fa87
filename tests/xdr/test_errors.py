"""Each XDR error reply maps to its typed error."""

from __future__ import annotations

import pytest

from appliance.errors import ApplianceError
from appliance.xdr import errors


def reply(code: int, msg: str, extra: object = "") -> dict:
    return {"reply": {"err_code": code, "err_msg": msg, "err_extra": extra}}


@pytest.mark.parametrize(
    ("status", "body", "cls", "retryable"),
    [
        (
            400,
            reply(400, "Bad Request. Got an invalid JSON."),
            errors.XdrBadRequest,
            False,
        ),
        (
            401,
            reply(401, "Public API request unauthorized"),
            errors.XdrUnauthorized,
            False,
        ),
        (402, reply(402, "User is not licensed"), errors.XdrNotLicensed, False),
        (403, reply(403, "Forbidden"), errors.XdrForbidden, False),
        (500, reply(500, "internal"), errors.XdrServerError, True),
        (503, None, errors.XdrServerError, True),
        (429, None, errors.XdrRateLimited, True),
        (500, reply(500, "Rate limit exceeded"), errors.XdrRateLimited, True),
    ],
)
def test_status_and_body_give_the_typed_error(
    status: int, body: object, cls: type, retryable: bool
) -> None:
    error = errors.error_for(status, body)

    assert type(error) is cls
    assert isinstance(error, ApplianceError)
    assert error.retryable is retryable


def test_xql_syntax_error_keeps_parse_err() -> None:
    parse_err = {"line": 1, "column": 19, "message": "no viable alternative"}
    error = errors.error_for(500, reply(500, "XQL failed", {"parse_err": parse_err}))

    assert isinstance(error, errors.XqlParseError)
    assert not error.retryable
    assert error.parse_err == parse_err
    assert (error.err_code, error.err_msg) == (500, "XQL failed")
