"""Task results: one row per task and incident run, with its prompt record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class TaskResultRecord(TimestampMixin, Base):
    """The stored result of one incident task (AI-generated, labelled)."""

    __tablename__ = "task_result"
    __table_args__ = (
        Index("ix_task_result_incident", "tenant", "incident_id", "task"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=True)
    # The result holds incident data (restored real values): stored, never logged.
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    prompt_record_id: Mapped[int | None] = mapped_column(Integer)
    model_name: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(Integer)
