"""Core tables: the job queue, worker liveness and the audit trail.

Tables of other domains live beside their code (``appliance/<domain>/tables.py``)
and are gathered by :mod:`appliance.db.metadata` for migrations.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class JobState(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"


class Job(TimestampMixin, Base):
    """One unit of durable work, claimed by one worker at a time under a lease."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claim", "state", "run_after", "priority", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[JobState] = mapped_column(
        Enum(
            JobState,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=JobState.QUEUED,
    )
    priority: Mapped[int] = mapped_column(default=100)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[dt.datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None]
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class WorkerHeartbeat(TimestampMixin, Base):
    """Liveness of one worker process, as last reported by the worker itself."""

    __tablename__ = "worker_heartbeat"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(16))
    current_job_id: Mapped[int | None]
    jobs_done: Mapped[int] = mapped_column(default=0)
    # What the worker knows that the web processes cannot see, such as the state of
    # the model backend it loaded.
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditEvent(Base):
    """One row of the append-only, hash-chained audit trail.

    Rows are written only through :func:`appliance.governance.audit.record`. Each
    carries the hash of the previous row, so an edit or a deletion breaks the chain.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    # "attempt", "success", "failure", "denied" or "info".
    outcome: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)
