"""The audit trail: append-only and hash-chained.

The audit trail is not a log. Every write-back to XDR, approval, setting change,
model swap and login is recorded here through :func:`record`, with an attempt row
before the action and an outcome row after it. Each row's hash covers its content and
the previous row's hash, so :func:`verify` finds any edited, inserted or deleted row.

A chain alone cannot tell that its last rows were cut off, nor that someone who
knows the (public) hashing scheme appended rows of their own. So every append also
moves an anchor, kept in its own table: the id and hash of the last row, signed with
an HMAC keyed by the appliance's secret key. Without the key the anchor cannot be
moved to match a shortened or extended chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from appliance.auth.secret import derived_key
from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.tables import AuditEvent
from appliance.governance.tables import AuditAnchor

GENESIS = "0" * 64
OUTCOMES = {"attempt", "success", "failure", "denied", "info"}
# Any constant works; it names the one lock that serializes chain appends on PostgreSQL.
_PG_LOCK_KEY = 0x41554454
_ANCHOR_ID = 1
_ANCHOR_PURPOSE = "audit-anchor"
# The anchor key of this process, for writers that pass no settings (see configure).
_process_key: bytes | None = None


def configure(settings: Settings) -> None:
    """Make ``settings``' secret key sign the anchor of rows written without one."""
    global _process_key
    _process_key = derived_key(settings, _ANCHOR_PURPOSE)


def _anchor_key(settings: Settings | None) -> bytes | None:
    """Return the key that signs the anchor, from the best source at hand."""
    if settings is not None:
        return derived_key(settings, _ANCHOR_PURPOSE)
    if has_app_context():
        from appliance.app_state import state

        return derived_key(state(current_app).settings, _ANCHOR_PURPOSE)

    return _process_key


def _sign(key: bytes | None, last_id: int, last_hash: str) -> str | None:
    """Return the anchor's HMAC, or None when no key is known."""
    if key is None:
        return None
    message = f"{last_id}:{last_hash}".encode()

    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
    settings: Settings | None = None,
) -> AuditEvent:
    """Append one row to the audit trail inside the caller's transaction.

    ``details`` must not hold secrets or raw incident payloads. ``settings`` gives
    the key that signs the anchor; inside a request the app's settings are used, and
    elsewhere those given to :func:`configure`.
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
    _move_anchor(session, event, _anchor_key(settings))

    return event


def _move_anchor(session: Session, event: AuditEvent, key: bytes | None) -> None:
    """Point the anchor at the row just appended."""
    anchor = session.get(AuditAnchor, _ANCHOR_ID)
    if anchor is None:
        anchor = AuditAnchor(id=_ANCHOR_ID)
        session.add(anchor)
    anchor.last_id = event.id
    anchor.last_hash = event.row_hash
    anchor.signature = _sign(key, event.id, event.row_hash)
    anchor.updated_at = event.occurred_at
    session.flush()


@dataclass(frozen=True)
class ChainProblem:
    """One place where the audit chain does not hold."""

    event_id: int
    reason: str


def verify(session: Session, settings: Settings | None = None) -> list[ChainProblem]:
    """Walk the chain and the anchor; return every problem found (empty when intact).

    With ``settings`` (or inside a request), the anchor's signature is checked too:
    an unsigned or wrongly signed anchor is a problem.
    """
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_id = 1
    last: AuditEvent | None = None
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
        last = event
    problems.extend(_anchor_problems(session, last, _anchor_key(settings)))

    return problems


def _anchor_problems(
    session: Session, last: AuditEvent | None, key: bytes | None
) -> list[ChainProblem]:
    """Compare the anchor with the chain's last row and check its signature."""
    anchor = session.get(AuditAnchor, _ANCHOR_ID)
    last_id = last.id if last else 0
    if anchor is None:
        if last is None:
            return []
        return [ChainProblem(last_id, "the audit anchor is missing")]
    problems: list[ChainProblem] = []
    if anchor.last_id > last_id:
        problems.append(
            ChainProblem(
                anchor.last_id,
                f"rows {last_id + 1}..{anchor.last_id} at the end were deleted",
            )
        )
    elif anchor.last_id < last_id:
        problems.append(
            ChainProblem(
                last_id,
                f"rows {anchor.last_id + 1}..{last_id} were added outside record()",
            )
        )
    elif last is not None and last.row_hash != anchor.last_hash:
        problems.append(ChainProblem(last_id, "the last row does not match the anchor"))
    if key is not None:
        expected = _sign(key, anchor.last_id, anchor.last_hash) or ""
        if not hmac.compare_digest(anchor.signature or "", expected):
            problems.append(
                ChainProblem(anchor.last_id, "the audit anchor's signature is invalid")
            )

    return problems
