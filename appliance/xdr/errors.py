"""Typed errors for Cortex XDR API replies, one class per XDR error code.

XDR answers an error as ``{"reply": {"err_code", "err_msg", "err_extra"}}`` with
400 (bad JSON), 401 (bad key), 402 (not licensed), 403 (role lacks permission) or
500 (internal; XQL syntax errors carry ``err_extra.parse_err``). Code branches on the
class, never on the message.
"""

from __future__ import annotations

from typing import Any

from appliance.errors import ApplianceError


class XdrError(ApplianceError):
    """Cortex XDR refused or failed a call.

    Attributes:
        err_code: XDR's ``err_code`` (the HTTP status as XDR reports it).
        err_msg: XDR's ``err_msg``.
        err_extra: XDR's ``err_extra`` (a string or an object).
        retryable: whether the same call may succeed when tried again.
    """

    status = 502
    code = "xdr_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        err_code: int | str | None = None,
        err_msg: str | None = None,
        err_extra: Any = None,
    ) -> None:
        super().__init__(message)
        self.err_code = err_code
        self.err_msg = err_msg
        self.err_extra = err_extra


class XdrBadRequest(XdrError):
    """400: XDR could not parse the request."""

    code = "xdr_bad_request"


class XdrUnauthorized(XdrError):
    """401: the API key, its id, nonce or timestamp was refused."""

    code = "xdr_unauthorized"


class XdrNotLicensed(XdrError):
    """402: the tenant's licence does not include this API."""

    code = "xdr_not_licensed"


class XdrForbidden(XdrError):
    """403: the API key's role lacks the permission for this API."""

    code = "xdr_forbidden"


class XdrServerError(XdrError):
    """500 or another 5xx: XDR failed internally; worth retrying."""

    code = "xdr_server_error"
    retryable = True


class XqlParseError(XdrServerError):
    """500 with ``err_extra.parse_err``: the XQL query does not parse."""

    code = "xql_parse_error"
    retryable = False

    @property
    def parse_err(self) -> Any:
        """Return XDR's ``parse_err`` (line, column and message of the error)."""
        extra = self.err_extra if isinstance(self.err_extra, dict) else {}
        return extra.get("parse_err")


class XdrRateLimited(XdrError):
    """429 or "Rate limit exceeded": slow down and retry."""

    code = "xdr_rate_limited"
    retryable = True


class XdrTransportError(XdrError):
    """The call timed out or its connection dropped; the outcome is unknown."""

    code = "xdr_transport_error"
    retryable = True


class XdrBadReply(XdrError):
    """XDR answered 200 with a reply that is not the documented shape.

    ``err_extra`` lists where the reply differs (locations and error types only:
    the reply's values are incident data and stay out of errors and logs).
    """

    code = "xdr_bad_reply"


class XdrLimitExceeded(XdrError):
    """A request breaks a documented XDR limit (page size, batch size)."""

    code = "xdr_limit_exceeded"


_BY_STATUS: dict[int, type[XdrError]] = {
    400: XdrBadRequest,
    401: XdrUnauthorized,
    402: XdrNotLicensed,
    403: XdrForbidden,
    429: XdrRateLimited,
}

RATE_LIMIT_MESSAGE = "Rate limit exceeded"


def error_for(status: int, body: Any) -> XdrError:
    """Return the typed error for an XDR error reply.

    Args:
        status: the HTTP status of the reply.
        body: the decoded JSON body, or None when it was not JSON.
    """
    reply = body.get("reply") if isinstance(body, dict) else None
    if not isinstance(reply, dict):
        reply = {}
    err_code = reply.get("err_code", status)
    err_msg = str(reply.get("err_msg") or "")
    err_extra = reply.get("err_extra")
    if RATE_LIMIT_MESSAGE.lower() in err_msg.lower() or status == 429:
        cls: type[XdrError] = XdrRateLimited
    elif status >= 500:
        has_parse_err = isinstance(err_extra, dict) and "parse_err" in err_extra
        cls = XqlParseError if has_parse_err else XdrServerError
    else:
        cls = _BY_STATUS.get(status, XdrError)
    # err_msg is XDR's own text, never the request; safe to show operators.
    return cls(
        f"Cortex XDR answered {status}: {err_msg or 'no message'}",
        err_code=err_code,
        err_msg=err_msg,
        err_extra=err_extra,
    )
