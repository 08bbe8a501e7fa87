"""Past incidents as the similar-incident index sees them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class PastIncident(TimestampMixin, Base):
    """One closed incident: its scrubbed summary, techniques, entities and resolution.

    The row id is the vector id in the FAISS index; the summary and notes are stored
    already scrubbed, so nothing here needs the pseudonym vault.
    """

    __tablename__ = "past_incident"
    __table_args__ = (UniqueConstraint("tenant", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime]
    summary: Mapped[str] = mapped_column(Text)
    techniques: Mapped[list[str]] = mapped_column(JSON, default=list)
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resolution: Mapped[str | None] = mapped_column(String(64))
    closure_notes: Mapped[str | None] = mapped_column(Text)
