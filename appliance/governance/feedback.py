"""Analysts' feedback on AI output: useful, inaccurate or harmful, with a reason."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.governance import audit
from appliance.governance.tables import Feedback


class Rating(enum.StrEnum):
    """What an analyst thought of one AI output."""

    USEFUL = "useful"
    INACCURATE = "inaccurate"
    HARMFUL = "harmful"


def give(
    session: Session,
    settings: Settings,
    *,
    actor: str,
    tenant: str,
    output_id: str,
    task: str,
    model: str,
    prompt_version: str,
    rating: Rating,
    reason: str,
    prompt_record_id: str | None = None,
    incident_id: str | None = None,
) -> Feedback:
    """Store one piece of feedback and audit it (the reason itself is not audited)."""
    row = Feedback(
        tenant=tenant,
        output_id=output_id,
        prompt_record_id=prompt_record_id,
        incident_id=incident_id,
        task=task,
        model=model,
        prompt_version=prompt_version,
        rating=rating.value,
        reason=reason,
        actor=actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feedback.give",
        outcome="info",
        tenant=tenant,
        target=f"output:{output_id}",
        details={"feedback_id": row.id, "rating": rating.value, "model": model},
        settings=settings,
    )

    return row


def listing(
    session: Session,
    *,
    model: str | None = None,
    prompt_version: str | None = None,
    rating: str | None = None,
    limit: int = 100,
) -> list[Feedback]:
    """Return feedback, newest first, filtered by model, prompt version or rating."""
    statement = select(Feedback).order_by(Feedback.id.desc()).limit(limit)
    if model:
        statement = statement.where(Feedback.model == model)
    if prompt_version:
        statement = statement.where(Feedback.prompt_version == prompt_version)
    if rating:
        statement = statement.where(Feedback.rating == rating)

    return list(session.scalars(statement))


def summary(session: Session) -> list[dict[str, Any]]:
    """Count feedback by model, prompt version and rating."""
    rows = session.execute(
        select(
            Feedback.model,
            Feedback.prompt_version,
            Feedback.rating,
            func.count().label("count"),
        ).group_by(Feedback.model, Feedback.prompt_version, Feedback.rating)
    ).all()
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(
            (row.model, row.prompt_version),
            {
                "model": row.model,
                "prompt_version": row.prompt_version,
                **{r.value: 0 for r in Rating},
            },
        )
        entry[row.rating] = row.count

    return [grouped[key] for key in sorted(grouped)]


def as_dict(row: Feedback) -> dict[str, Any]:
    """Serialize one feedback row for the API and the export."""
    return {
        "id": row.id,
        "tenant": row.tenant,
        "output_id": row.output_id,
        "prompt_record_id": row.prompt_record_id,
        "incident_id": row.incident_id,
        "task": row.task,
        "model": row.model,
        "prompt_version": row.prompt_version,
        "rating": row.rating,
        "reason": row.reason,
        "actor": row.actor,
        "created_at": row.created_at.isoformat(),
    }


def export(session: Session, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Yield every feedback row, oldest first, for review outside the appliance."""
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(Feedback)
                .where(Feedback.id > last)
                .order_by(Feedback.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        for row in rows:
            yield as_dict(row)
        last = rows[-1].id
