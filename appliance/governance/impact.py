"""Impact of the appliance on the SOC's work, for /metrics and the API.

Other domains report two facts through this module: an incident was seen
(:func:`note_incident`, with its creation time in XDR) and an AI result was produced
for it (:func:`note_ai_result`). Approvals, automated actions and feedback are read
from governance's own tables.

Minutes saved are an estimate, on stated assumptions: each AI result of a task saves
the minutes set for that task in ``APPLIANCE_MINUTES_SAVED_PER_TASK`` (what an analyst
takes to write that result by hand), scaled down by the share of that task's
feedback that was inaccurate or harmful (such a result saved nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.governance.tables import (
    Approval,
    AutomatedAction,
    Feedback,
    ImpactEvent,
)

SEEN = "incident_seen"
RESULT = "ai_result"


def note_incident(
    session: Session,
    *,
    tenant: str,
    incident_id: str,
    incident_created_at: dt.datetime | None,
) -> None:
    """Record that the appliance took in an incident (once per incident)."""
    exists = session.scalar(
        select(ImpactEvent.id).where(
            ImpactEvent.tenant == tenant,
            ImpactEvent.incident_id == incident_id,
            ImpactEvent.kind == SEEN,
        )
    )
    if exists is None:
        session.add(
            ImpactEvent(
                tenant=tenant,
                incident_id=incident_id,
                kind=SEEN,
                incident_created_at=incident_created_at,
                occurred_at=utcnow(),
            )
        )
        session.flush()


def note_ai_result(
    session: Session,
    *,
    tenant: str,
    incident_id: str,
    task: str,
    incident_created_at: dt.datetime | None = None,
) -> None:
    """Record that a task produced an AI result for an incident."""
    session.add(
        ImpactEvent(
            tenant=tenant,
            incident_id=incident_id,
            kind=RESULT,
            task=task,
            incident_created_at=incident_created_at,
            occurred_at=utcnow(),
        )
    )
    session.flush()


def minutes_per_task(settings: Settings) -> dict[str, float]:
    """Parse ``APPLIANCE_MINUTES_SAVED_PER_TASK`` (``triage=10,closure=5``)."""
    minutes: dict[str, float] = {}
    for part in settings.minutes_saved_per_task.split(","):
        name, _, value = part.partition("=")
        if name.strip() and value.strip():
            minutes[name.strip()] = float(value)

    return minutes


def _mean_time_to_triage(session: Session) -> float | None:
    """Mean seconds from incident creation in XDR to its first AI result."""
    first = (
        select(
            ImpactEvent.tenant,
            ImpactEvent.incident_id,
            func.min(ImpactEvent.occurred_at).label("first_result"),
        )
        .where(ImpactEvent.kind == RESULT)
        .group_by(ImpactEvent.tenant, ImpactEvent.incident_id)
        .subquery()
    )
    created = (
        select(
            ImpactEvent.tenant,
            ImpactEvent.incident_id,
            func.min(ImpactEvent.incident_created_at).label("created"),
        )
        .where(ImpactEvent.incident_created_at.is_not(None))
        .group_by(ImpactEvent.tenant, ImpactEvent.incident_id)
        .subquery()
    )
    rows = session.execute(
        select(first.c.first_result, created.c.created).join(
            created,
            (first.c.tenant == created.c.tenant)
            & (first.c.incident_id == created.c.incident_id),
        )
    ).all()
    spans = []
    for first_result, created_at in rows:
        first_at = _aware(first_result)
        created_aware = _aware(created_at)
        spans.append(max((first_at - created_aware).total_seconds(), 0.0))

    return sum(spans) / len(spans) if spans else None


def _aware(value: dt.datetime | str) -> dt.datetime:
    """Return an aggregate's datetime as aware UTC (SQLite returns text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)

    return value


def _count(session: Session, statement: Any) -> int:
    """Run a count query."""
    return int(session.scalar(statement) or 0)


def figures(session: Session, settings: Settings) -> dict[str, Any]:
    """Compute every impact figure from the database."""
    distinct_incidents = func.count(
        func.distinct(ImpactEvent.tenant + ":" + ImpactEvent.incident_id)
    )
    seen = _count(session, select(distinct_incidents).where(ImpactEvent.kind == SEEN))
    with_result = _count(
        session, select(distinct_incidents).where(ImpactEvent.kind == RESULT)
    )
    decisions = dict(
        session.execute(
            select(Approval.state, func.count()).group_by(Approval.state)
        ).all()
    )
    approved = int(decisions.get("approved", 0))
    rejected = int(decisions.get("rejected", 0))
    decided = approved + rejected
    ratings = dict(
        session.execute(
            select(Feedback.rating, func.count()).group_by(Feedback.rating)
        ).all()
    )
    results_by_task = dict(
        session.execute(
            select(ImpactEvent.task, func.count())
            .where(ImpactEvent.kind == RESULT)
            .group_by(ImpactEvent.task)
        ).all()
    )
    results = sum(results_by_task.values())
    automated = _count(session, select(func.count()).select_from(AutomatedAction))
    reverted = _count(
        session,
        select(func.count())
        .select_from(AutomatedAction)
        .where(AutomatedAction.reverted_at.is_not(None)),
    )

    return {
        "mean_time_to_triage_seconds": _mean_time_to_triage(session),
        "incidents_seen": seen,
        "incidents_with_ai_output": with_result,
        "share_with_ai_output": (with_result / seen) if seen else None,
        "approvals": {k: int(v) for k, v in decisions.items()},
        "approval_rate": (approved / decided) if decided else None,
        "rejection_rate": (rejected / decided) if decided else None,
        "feedback": {k: int(v) for k, v in ratings.items()},
        "feedback_rate": (sum(ratings.values()) / results) if results else None,
        "automated_actions": automated,
        "automated_actions_reverted": reverted,
        "minutes_saved_by_task": _minutes_saved(session, settings, results_by_task),
    }


def _minutes_saved(
    session: Session, settings: Settings, results_by_task: dict[Any, Any]
) -> dict[str, float]:
    """Estimate analyst minutes saved per task (see the module's assumptions)."""
    bad_by_task = dict(
        session.execute(
            select(Feedback.task, func.count())
            .where(Feedback.rating != "useful")
            .group_by(Feedback.task)
        ).all()
    )
    all_by_task = dict(
        session.execute(
            select(Feedback.task, func.count()).group_by(Feedback.task)
        ).all()
    )
    saved: dict[str, float] = {}
    for task, minutes in minutes_per_task(settings).items():
        results = int(results_by_task.get(task, 0))
        rated = int(all_by_task.get(task, 0))
        bad_share = int(bad_by_task.get(task, 0)) / rated if rated else 0.0
        saved[task] = round(results * minutes * (1.0 - bad_share), 2)

    return saved


def collect(db: Database, settings: Settings) -> Iterable[GaugeMetricFamily]:
    """Yield the impact figures as Prometheus gauges (an EXTRA_COLLECTORS entry)."""
    with db.read_session() as session:
        data = figures(session, settings)
    scalars = {
        "appliance_mean_time_to_triage_seconds": (
            "Mean seconds from incident creation to its first AI result.",
            data["mean_time_to_triage_seconds"],
        ),
        "appliance_incident_ai_output_ratio": (
            "Share of incidents seen that have AI output.",
            data["share_with_ai_output"],
        ),
        "appliance_approval_ratio": (
            "Share of decided proposals that were approved.",
            data["approval_rate"],
        ),
        "appliance_rejection_ratio": (
            "Share of decided proposals that were rejected.",
            data["rejection_rate"],
        ),
        "appliance_feedback_ratio": (
            "Feedback given per AI result.",
            data["feedback_rate"],
        ),
        "appliance_automated_actions": (
            "Changes applied under an automation rule.",
            data["automated_actions"],
        ),
        "appliance_automated_actions_reverted": (
            "Automated changes later reverted by an analyst.",
            data["automated_actions_reverted"],
        ),
    }
    for name, (help_text, value) in scalars.items():
        gauge = GaugeMetricFamily(name, help_text)
        gauge.add_metric([], float("nan") if value is None else float(value))
        yield gauge
    feedback = GaugeMetricFamily(
        "appliance_feedback", "Feedback on AI output by rating.", labels=["rating"]
    )
    for rating, count in sorted(data["feedback"].items()):
        feedback.add_metric([rating], float(count))
    yield feedback
    saved = GaugeMetricFamily(
        "appliance_analyst_minutes_saved",
        "Estimated analyst minutes saved, by task (documented assumptions).",
        labels=["task"],
    )
    for task, minutes in sorted(data["minutes_saved_by_task"].items()):
        saved.add_metric([task], minutes)
    yield saved
