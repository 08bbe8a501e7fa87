"""The outbox sender: sends queued write-backs to XDR until each is acknowledged.

A sender leases due rows (``sending``), writes an audit ``attempt`` row, posts the
change through ``incidents/update_incident`` and, in one transaction fenced on its
lease, marks the row ``sent`` with an audit ``success`` row, or schedules a retry with
an audit ``failure`` row. A row is only ever sent under a lease, so two senders never
post the same row at once; a sender that dies after XDR applied a change but before
the row was marked may post it again once the lease runs out, and the posted text
carries the row's reference so such a repeat can be recognized.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.governance import audit
from appliance.xdr.calls import UpdateIncidentData, UpdateIncidentRequest
from appliance.xdr.client import XdrClient, shared_client
from appliance.xdr.errors import XdrError
from appliance.xdr.tables import OutboxEntry, OutboxState

if TYPE_CHECKING:
    from appliance.jobs.worker import Worker

logger = logging.getLogger(__name__)

ACTION = "xdr.write_back"


def lease_seconds(settings: Settings) -> float:
    """Return a lease that outlasts one send with all its client-side retries.

    A lease that ran out mid-send would let a second sender post the same row.
    """
    per_try = settings.xdr_timeout_seconds + settings.xdr_backoff_max_seconds
    return max(60.0, settings.xdr_max_attempts * per_try * 1.5)


def retry_delay(attempts: int, settings: Settings) -> float:
    """Return the wait before the next try of a write-back, with jitter."""
    base = settings.xdr_backoff_base_seconds
    ceiling = min(settings.xdr_backoff_max_seconds, base * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def claim_due(db: Database, owner: str, limit: int, lease: float = 600.0) -> list[int]:
    """Lease up to ``limit`` due rows to ``owner`` for ``lease`` seconds.

    Each claimed row gets an audit ``attempt`` row in the same transaction.
    """
    now = utcnow()
    due = or_(
        and_(
            OutboxEntry.state == OutboxState.QUEUED,
            OutboxEntry.next_attempt_at <= now,
        ),
        and_(
            OutboxEntry.state == OutboxState.SENDING,
            OutboxEntry.lease_expires_at < now,
        ),
    )
    statement = select(OutboxEntry).where(due).order_by(OutboxEntry.id).limit(limit)
    if db.is_postgres:
        statement = statement.with_for_update(skip_locked=True)
    with db.session() as session:
        entries = list(session.scalars(statement))
        for entry in entries:
            entry.state = OutboxState.SENDING
            entry.lease_owner = owner
            entry.lease_expires_at = now + dt.timedelta(seconds=lease)
            entry.attempts += 1
            audit.record(
                session,
                actor=owner,
                action=ACTION,
                outcome="attempt",
                tenant=entry.tenant,
                target=f"incident:{entry.incident_id}",
                correlation_id=entry.correlation_id,
                details=_details(entry),
            )
        return [entry.id for entry in entries]


def _details(entry: OutboxEntry, **more: object) -> dict[str, object]:
    """Return what the audit trail keeps of a write-back (never its text)."""
    return {
        "outbox_id": entry.id,
        "idempotency_key": entry.idempotency_key,
        "kind": entry.kind,
        "task": entry.task,
        "attempt": entry.attempts,
        **more,
    }


def _held(
    session: Session, entry_id: int, owner: str, *also: ColumnElement[bool]
) -> OutboxEntry | None:
    """Return the row while ``owner`` holds it for sending, under ``also`` too."""
    return session.scalar(
        select(OutboxEntry).where(
            OutboxEntry.id == entry_id,
            OutboxEntry.lease_owner == owner,
            OutboxEntry.state == OutboxState.SENDING,
            *also,
        )
    )


def send_one(
    db: Database, client: XdrClient, settings: Settings, entry_id: int, owner: str
) -> bool:
    """Post one leased row; return True when XDR acknowledged it.

    The lease is renewed just before the post, so a row that waited behind others
    of its batch still holds a full lease while it is sent.
    """
    renewed = utcnow() + dt.timedelta(seconds=lease_seconds(settings))
    with db.session() as session:
        entry = _held(session, entry_id, owner, OutboxEntry.lease_expires_at > utcnow())
        if entry is None:
            return False
        entry.lease_expires_at = renewed
        request = UpdateIncidentRequest(
            incident_id=entry.incident_id,
            update_data=UpdateIncidentData.model_validate(entry.update_data),
        )
    error: XdrError | None = None
    try:
        acknowledged = client.update_incident(request)
    except XdrError as exc:
        acknowledged, error = False, exc

    with db.session() as session:
        entry = _held(session, entry_id, owner)
        if entry is None:
            logger.warning("write-back lease lost", extra={"outbox_id": entry_id})
            return False
        entry.lease_owner = None
        entry.lease_expires_at = None
        if acknowledged:
            entry.state = OutboxState.SENT
            entry.sent_at = utcnow()
            entry.last_error = None
            outcome, details = "success", _details(entry)
        else:
            code = error.code if error else "not_acknowledged"
            retry = (error is None or error.retryable) and (
                entry.attempts < settings.outbox_max_attempts
            )
            entry.last_error = str(error or "XDR did not acknowledge")[:4000]
            entry.state = OutboxState.QUEUED if retry else OutboxState.FAILED
            entry.next_attempt_at = utcnow() + dt.timedelta(
                seconds=retry_delay(entry.attempts, settings)
            )
            outcome = "failure"
            details = _details(entry, error_code=code, will_retry=retry)
        audit.record(
            session,
            actor=owner,
            action=ACTION,
            outcome=outcome,
            tenant=entry.tenant,
            target=f"incident:{entry.incident_id}",
            correlation_id=entry.correlation_id,
            details=details,
        )
    logger.info(
        "write-back sent" if acknowledged else "write-back attempt failed",
        extra={"outbox_id": entry_id, "error_code": error.code if error else None},
    )

    return acknowledged


def send_due(
    db: Database, client: XdrClient, settings: Settings, owner: str
) -> tuple[int, int]:
    """Send what is due now; return (sent, failed attempts)."""
    sent = failed = 0
    lease = lease_seconds(settings)
    for entry_id in claim_due(db, owner, settings.outbox_batch_size, lease):
        if send_one(db, client, settings, entry_id, owner):
            sent += 1
        else:
            failed += 1

    return sent, failed


class OutboxSender:
    """The worker duty that sends due write-backs between jobs."""

    def __init__(self, settings: Settings, interval: float = 1.0) -> None:
        self.settings = settings
        self.interval = interval
        self._client: XdrClient | None = None
        self._next = 0.0

    def __call__(self, worker: Worker) -> None:
        """Send due write-backs, at most once every ``interval`` seconds."""
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.interval
        if self._client is None:
            if not self.settings.xdr_base_url:
                return
            self._client = shared_client(self.settings)
        while True:
            sent, failed = send_due(
                worker.db, self._client, self.settings, f"worker:{worker.worker_id}"
            )
            if not sent or failed:
                return
