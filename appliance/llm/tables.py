"""Tables of the model runtime: every model call, and the requested active model."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class ModelCall(TimestampMixin, Base):
    """One call to a model backend: what was asked of which model, and how it went.

    The prompt itself is not kept, only its hash; the output is kept as the model
    wrote it, which is scrubbed (it holds pseudonyms, not personal data).
    """

    __tablename__ = "model_call"
    __table_args__ = (Index("ix_model_call_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime]
    backend: Mapped[str] = mapped_column(String(32))
    model_name: Mapped[str] = mapped_column(String(200))
    model_sha256: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schema_sha256: Mapped[str | None] = mapped_column(String(64))
    prompt_sha256: Mapped[str] = mapped_column(String(64), index=True)
    vault_id: Mapped[str | None] = mapped_column(String(64))
    entities: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cached_prompt_tokens: Mapped[int] = mapped_column(default=0)
    time_to_first_token_s: Mapped[float | None]
    duration_s: Mapped[float] = mapped_column(default=0.0)
    outcome: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class ModelActivation(TimestampMixin, Base):
    """A request to make a model the active one; the newest row is what is wanted.

    Any process writes a request (the admin page, ``appliance models activate``);
    the workers see it, hot swap, and write back the outcome.
    """

    __tablename__ = "model_activation"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="requested")
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None]
