"""Setting the rollout phase of a tenant or of one of its tasks (audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.errors import NotFound, ValidationFailed
from appliance.governance import audit
from appliance.governance.gate import Phase
from appliance.governance.tables import RolloutSetting


def set_phase(
    session: Session,
    settings: Settings,
    *,
    tenant: str,
    task: str,
    phase: str,
    actor: str,
) -> RolloutSetting:
    """Set the phase of ``task`` (``*`` for every task) of ``tenant``."""
    if phase not in {p.value for p in Phase}:
        raise ValidationFailed(
            f"unknown phase {phase!r}; known: {', '.join(p.value for p in Phase)}"
        )
    row = session.scalar(
        select(RolloutSetting).where(
            RolloutSetting.tenant == tenant, RolloutSetting.task == task
        )
    )
    before = row.phase if row else None
    details = {"task": task, "before": before, "after": phase}
    audit.record(
        session,
        actor=actor,
        action="setting.rollout_phase",
        outcome="attempt",
        tenant=tenant,
        target=f"phase:{task}",
        details=details,
        settings=settings,
    )
    if row is None:
        row = RolloutSetting(tenant=tenant, task=task, phase=phase, updated_by=actor)
        session.add(row)
    else:
        row.phase = phase
        row.updated_by = actor
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="setting.rollout_phase",
        outcome="success",
        tenant=tenant,
        target=f"phase:{task}",
        details=details,
        settings=settings,
    )

    return row


def clear_phase(
    session: Session, settings: Settings, *, tenant: str, task: str, actor: str
) -> None:
    """Remove a phase setting, so the tenant's (or the default) phase applies."""
    row = session.scalar(
        select(RolloutSetting).where(
            RolloutSetting.tenant == tenant, RolloutSetting.task == task
        )
    )
    if row is None:
        raise NotFound(f"no phase is set for tenant {tenant!r}, task {task!r}")
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="setting.rollout_phase",
        outcome="success",
        tenant=tenant,
        target=f"phase:{task}",
        details={"task": task, "before": row.phase, "after": None},
        settings=settings,
    )


def listing(session: Session) -> list[RolloutSetting]:
    """Return every phase setting, by tenant and task."""
    return list(
        session.scalars(
            select(RolloutSetting).order_by(RolloutSetting.tenant, RolloutSetting.task)
        )
    )
