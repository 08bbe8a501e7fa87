"""JSON-lines logging to stdout, with request, job and incident ids as context.

Log messages are constant strings; what varies goes into ``extra`` or the context
below, so logs can be searched by id. Payloads and prompts are never logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "appliance_log_context", default=None
)

# Attributes every LogRecord has; anything else was passed through ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Attach ids (request_id, job_id, incident_id…) to every log line inside."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in ids.items() if v is not None})
    token = _context.set(current)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    """Return the ids attached by the enclosing :func:`log_context` blocks."""
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record, its context ids and extras as JSON."""
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(current_context())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)

        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send the root logger's records to stdout as JSON lines (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_appliance", False):
            root.setLevel(level.upper())
            return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler._appliance = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces its context at INFO on every schema check.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
