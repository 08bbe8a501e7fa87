"""The audit trail: append-only and hash-chained.

The audit trail is not a log. Every write-back to XDR, approval, setting change,
model swap and login is recorded here through :func:`record`, with an attempt row
before the action and an outcome row after it. Each row's hash covers its content and
the previous row's hash, so :func:`verify` finds any edited, inserted or deleted row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from appliance.db.base import utcnow
from appliance.db.tables import AuditEvent

GENESIS = "0" * 64
OUTCOMES = {"attempt", "success", "failure", "denied", "info"}
# Any constant works; it names the one lock that serializes chain appends on PostgreSQL.
_PG_LOCK_KEY = 0x41554454


def _row_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """Hash a row's content together with the previous row's hash."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _content(event: AuditEvent) -> dict[str, Any]:
    """Return the hashed fields of a row."""
    occurred = event.occurred_at
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=dt.UTC)
    return {
        "id": event.id,
        "occurred_at": occurred.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome,
        "tenant": event.tenant,
        "target": event.target,
        "correlation_id": event.correlation_id,
        "details": event.details,
    }


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    outcome: str,
    tenant: str = "default",
    target: str | None = None,
    correlation_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one row to the audit trail inside the caller's transaction.

    ``details`` must not hold secrets or raw incident payloads.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
        )
    last = session.execute(
        select(AuditEvent.id, AuditEvent.row_hash)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    prev_hash = last.row_hash if last else GENESIS
    event = AuditEvent(
        id=(last.id + 1) if last else 1,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        outcome=outcome,
        tenant=tenant,
        target=target,
        correlation_id=correlation_id,
        details=details or {},
        prev_hash=prev_hash,
        row_hash="",
    )
    event.row_hash = _row_hash(prev_hash, _content(event))
    session.add(event)
    session.flush()

    return event


@dataclass(frozen=True)
class ChainProblem:
    """One place where the audit chain does not hold."""

    event_id: int
    reason: str


def verify(session: Session) -> list[ChainProblem]:
    """Walk the chain and return every problem found (empty when intact)."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_id = 1
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.id != expected_id:
            problems.append(
                ChainProblem(
                    event.id, f"rows {expected_id}..{event.id - 1} are missing"
                )
            )
        if event.prev_hash != expected_prev:
            problems.append(ChainProblem(event.id, "previous-hash link is broken"))
        if _row_hash(event.prev_hash, _content(event)) != event.row_hash:
            problems.append(
                ChainProblem(event.id, "row content does not match its hash")
            )
        expected_prev = event.row_hash
        expected_id = event.id + 1

    return problems
