"""Tables of the correlation domain: grouped-incident suggestions.

A suggestion is stored once per cluster and run; its state follows the analyst's
decision and, once applied, the write-back that carried it to XDR.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin

# States of a suggestion: proposed, then rejected, or applied through the write-back
# path (where the gate may keep it as a draft or wait for an approval).
STATES = ("proposed", "rejected", "queued", "needs_approval", "draft")


class CorrelationSuggestion(TimestampMixin, Base):
    """One proposed grouped incident: its alerts, evidence and decision."""

    __tablename__ = "correlation_suggestion"
    __table_args__ = (
        UniqueConstraint("tenant", "run_id", "cluster_id"),
        Index("ix_correlation_suggestion_state", "tenant", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[str] = mapped_column(String(64))
    cluster_id: Mapped[str] = mapped_column(String(160))
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    # Evidence in words and the ids of the alerts: identifiers and rule names, no
    # alert payloads.
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    alert_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    alert_count: Mapped[int] = mapped_column(default=0)
    incident_id: Mapped[str | None] = mapped_column(String(64))
    first_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    last_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), default="proposed")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None]
    outbox_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
