"""Export the audit trail to a SIEM: syslog lines in CEF, or JSON lines.

CEF (ArcSight Common Event Format) escapes backslash and ``|`` in its header and
backslash, ``=`` and line breaks in extension values; each line is wrapped in an
RFC 5424 syslog header so it can be sent as is to a syslog collector.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.db.tables import AuditEvent

VENDOR = "Appliance"
PRODUCT = "XDR AI Appliance"
# Facility local4 (20), severity notice (5).
_SYSLOG_PRI = 20 * 8 + 5
_CEF_SEVERITY = {"failure": 7, "denied": 6, "attempt": 3, "success": 3, "info": 2}


def events(
    session: Session, since_id: int = 0, batch: int = 500
) -> Iterator[AuditEvent]:
    """Yield audit rows after ``since_id``, oldest first, in batches."""
    last = since_id
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.id > last)
                .order_by(AuditEvent.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _occurred(event: AuditEvent) -> dt.datetime:
    """Return the row's time, timezone-aware in UTC."""
    occurred = event.occurred_at
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=dt.UTC)

    return occurred.astimezone(dt.UTC)


def as_json(event: AuditEvent) -> dict[str, Any]:
    """Return one row as a JSON object, hashes included."""
    return {
        "id": event.id,
        "occurred_at": _occurred(event).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome,
        "tenant": event.tenant,
        "target": event.target,
        "correlation_id": event.correlation_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "row_hash": event.row_hash,
    }


def jsonl_line(event: AuditEvent) -> str:
    """Return one row as a JSON line."""
    return json.dumps(as_json(event), sort_keys=True, separators=(",", ":"))


def _header(value: str) -> str:
    """Escape a CEF header field."""
    return value.replace("\\", "\\\\").replace("|", "\\|")


def _extension(value: object) -> str:
    """Escape a CEF extension value."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return (
        text.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def cef_line(event: AuditEvent, version: str, hostname: str | None = None) -> str:
    """Return one row as an RFC 5424 syslog line carrying a CEF message."""
    occurred = _occurred(event)
    fields: list[tuple[str, object]] = [
        ("rt", int(occurred.timestamp() * 1000)),
        ("externalId", event.id),
        ("suser", event.actor),
        ("act", event.action),
        ("outcome", event.outcome),
        ("cs1Label", "tenant"),
        ("cs1", event.tenant),
        ("cs2Label", "target"),
        ("cs2", event.target or ""),
        ("cs3Label", "correlationId"),
        ("cs3", event.correlation_id or ""),
        ("cs4Label", "rowHash"),
        ("cs4", event.row_hash),
        ("msg", event.details),
    ]
    extension = " ".join(f"{key}={_extension(value)}" for key, value in fields)
    header = "|".join(
        [
            "CEF:0",
            _header(VENDOR),
            _header(PRODUCT),
            _header(version),
            _header(event.action),
            _header(f"{event.action} {event.outcome}"),
            str(_CEF_SEVERITY.get(event.outcome, 3)),
        ]
    )
    host = hostname or socket.gethostname()
    stamp = occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    return f"<{_SYSLOG_PRI}>1 {stamp} {host} appliance - audit - {header}|{extension}"
