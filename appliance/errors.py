"""Exception hierarchy of the appliance and the one JSON error body.

Code branches on the exception type or its ``code``, never on the message. Every
error that reaches an HTTP client is rendered by :func:`error_body`.
"""

from __future__ import annotations

from typing import Any


class ApplianceError(Exception):
    """Base of every error the appliance raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(ApplianceError):
    """A setting is unknown, malformed or missing."""

    code = "config_error"


class BadRequest(ApplianceError):
    """The request is malformed (bad JSON, wrong shape)."""

    status = 400
    code = "bad_request"


class Unauthorized(ApplianceError):
    """The request carries no valid credentials or signature."""

    status = 401
    code = "unauthorized"


class Forbidden(ApplianceError):
    """The caller is known but its role does not allow this."""

    status = 403
    code = "forbidden"


class NotFound(ApplianceError):
    """The addressed object does not exist."""

    status = 404
    code = "not_found"


class Conflict(ApplianceError):
    """The request conflicts with the object's current state."""

    status = 409
    code = "conflict"


class PayloadTooLarge(ApplianceError):
    """The request body is larger than the configured limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApplianceError):
    """The request body is not in a media type the route accepts."""

    status = 415
    code = "unsupported_media_type"


class ValidationFailed(ApplianceError):
    """The request is well-formed but its content is invalid."""

    status = 422
    code = "validation_failed"


class RateLimited(ApplianceError):
    """The caller sent too many requests."""

    status = 429
    code = "rate_limited"


class Unavailable(ApplianceError):
    """A dependency the request needs (database, model) is not available."""

    status = 503
    code = "unavailable"


class JobError(ApplianceError):
    """A job failed; the queue retries it unless ``retryable`` is false."""

    code = "job_failed"
    retryable = True


class PermanentJobError(JobError):
    """A job failed in a way that retrying cannot fix."""

    code = "job_failed_permanently"
    retryable = False


# Reason phrases for statuses that reach clients without an ApplianceError.
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def code_for_status(status: int) -> str:
    """Return the error code used for an HTTP status."""
    return _CODES.get(status, "error" if status < 500 else "internal_error")


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    request_id: str | None = None,
    details: Any = None,
) -> dict[str, Any]:
    """Build the one JSON body every API error has.

    The shape is ``{"error": {"status", "code", "message", "request_id"}}``, plus
    ``details`` when there are any.
    """
    error: dict[str, Any] = {
        "status": status,
        "code": code or code_for_status(status),
        "message": message,
        "request_id": request_id,
    }
    if details is not None:
        error["details"] = details

    return {"error": error}
