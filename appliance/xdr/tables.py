"""Tables of the XDR domain: incident snapshots, alerts, the poll cursor, the outbox.

The snapshot tables hold what the appliance fetched from XDR, normalized, for the
analysis that follows. The outbox holds every write-back to XDR; its rows are written
in the same transaction as the result they carry and sent by the worker.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class XdrIncident(TimestampMixin, Base):
    """The latest fetched snapshot of one XDR incident."""

    __tablename__ = "xdr_incident"
    __table_args__ = (UniqueConstraint("tenant", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64))
    modification_time: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    alert_count: Mapped[int] = mapped_column(default=0)
    # The incident object and its artifacts as XDR sent them (incident data: never
    # logged, only stored).
    incident: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    network_artifacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    file_artifacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fetched_at: Mapped[dt.datetime]


class XdrAlert(TimestampMixin, Base):
    """One alert of a fetched incident, with the fields analysis reads first."""

    __tablename__ = "xdr_alert"
    __table_args__ = (
        UniqueConstraint("tenant", "alert_id"),
        Index("ix_xdr_alert_incident", "tenant", "incident_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str] = mapped_column(String(64))
    detection_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    severity: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    host_name: Mapped[str | None] = mapped_column(String(255))
    user_name: Mapped[str | None] = mapped_column(String(255))
    mitre_technique: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PollCursor(TimestampMixin, Base):
    """How far the poller has followed ``get_incidents`` for a tenant.

    ``modification_time`` is the newest change seen; ``seen`` maps the incident ids
    changed within the overlap window to the modification time already enqueued, so
    the overlapping next poll does not enqueue them again.
    """

    __tablename__ = "xdr_poll_cursor"

    tenant: Mapped[str] = mapped_column(String(100), primary_key=True)
    modification_time: Mapped[int] = mapped_column(BigInteger, default=0)
    seen: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_polled_at: Mapped[dt.datetime | None]


class OutboxState(enum.StrEnum):
    """Where a write-back is.

    ``queued`` waits to be sent, ``sending`` is leased to a sender, ``sent`` was
    acknowledged by XDR, ``failed`` gave up (an operator looks), ``needs_approval``
    waits for a human, ``draft`` is never sent (read-only phase).
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    NEEDS_APPROVAL = "needs_approval"
    DRAFT = "draft"


class OutboxEntry(TimestampMixin, Base):
    """One write-back to XDR, from the gate's verdict to XDR's acknowledgement."""

    __tablename__ = "xdr_outbox"
    __table_args__ = (Index("ix_xdr_outbox_due", "state", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    task: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    # The ``update_data`` of ``incidents/update_incident``.
    update_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[OutboxState] = mapped_column(
        Enum(
            OutboxState,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    # The approval a ``needs_approval`` row waits for (governance's approval queue).
    approval_id: Mapped[int | None] = mapped_column(index=True)
