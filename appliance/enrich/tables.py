"""Stored enrichment results: the context panel of each incident reads these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class IncidentEnrichment(TimestampMixin, Base):
    """The latest enrichment context of one incident of one tenant."""

    __tablename__ = "incident_enrichment"
    __table_args__ = (UniqueConstraint("tenant", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    failed_sources: Mapped[int] = mapped_column(default=0)
