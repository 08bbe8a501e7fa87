"""Tables of rollout phases, approvals, automated actions, feedback and impact.

Outputs and prompt records belong to the model and task domains; rows here refer to
them by id as plain strings, so neither side depends on the other's schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class RolloutSetting(TimestampMixin, Base):
    """The rollout phase an admin set for a tenant and task (``*`` is every task)."""

    __tablename__ = "rollout_setting"
    __table_args__ = (UniqueConstraint("tenant", "task"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16))
    updated_by: Mapped[str] = mapped_column(String(100))


class Approval(TimestampMixin, Base):
    """A proposed change to an incident that waits for a human decision.

    States: ``pending``, ``approved``, ``rejected``, ``expired``; ``applied_at`` is set
    when the approved change was handed to the write-back path.
    """

    __tablename__ = "approval"
    __table_args__ = (Index("ix_approval_state_expires", "state", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    incident_severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    change: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[dt.datetime | None]
    # What the write-back path returned when the change was handed over (outbox id).
    applied_ref: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class AutomatedAction(Base):
    """A change the gate let through on its own under an automation rule."""

    __tablename__ = "automated_action"
    __table_args__ = (Index("ix_automated_action_tenant_at", "tenant", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(64))
    incident_severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    decided_at: Mapped[dt.datetime]
    reverted_at: Mapped[dt.datetime | None]
    reverted_by: Mapped[str | None] = mapped_column(String(100))


class Feedback(Base):
    """An analyst's verdict on one AI output: useful, inaccurate or harmful."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_model_prompt", "model", "prompt_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    output_id: Mapped[str] = mapped_column(String(64), index=True)
    prompt_record_id: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(64))
    rating: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]


class ImpactEvent(Base):
    """An incident the appliance saw, or an AI result it produced for one."""

    __tablename__ = "impact_event"
    __table_args__ = (Index("ix_impact_event_incident", "tenant", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64))
    # "incident_seen" or "ai_result".
    kind: Mapped[str] = mapped_column(String(16))
    task: Mapped[str | None] = mapped_column(String(64))
    incident_created_at: Mapped[dt.datetime | None]
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)


class AuditAnchor(Base):
    """The head of the audit chain, kept apart from it and signed.

    A hash chain cannot see its last rows deleted; this single row names the last
    row id and hash, and an HMAC keyed by the appliance's secret key stops anyone
    without the key from moving it back.
    """

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]
