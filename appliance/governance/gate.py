"""The one gate every write-back to Cortex XDR passes before it is sent.

The rollout phase, set by an admin per tenant and per task, decides what the
appliance may do on its own:

- ``read_only``: nothing is sent; results stay drafts inside the appliance.
- ``suggest``: labelled comments and custom fields are posted; proposed changes to the
  incident (status, severity, grouping, assignment) wait for a human approval.
- ``automate``: as ``suggest``, and the named low-risk changes of
  :data:`AUTOMATION_RULES` above a confidence threshold are applied, within hourly
  limits per tenant and per incident severity.

Whatever the phase, a change to a high or critical severity incident always waits for
a human. A request that claims a human approval is checked against the approval
queue: the approval must exist, be approved by that person and match the change.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.governance.tables import Approval, AutomatedAction, RolloutSetting


class Phase(enum.StrEnum):
    """Rollout phases, from most to least restrictive."""

    READ_ONLY = "read_only"
    SUGGEST = "suggest"
    AUTOMATE = "automate"


class Verdict(enum.StrEnum):
    """What the gate decides for one write-back."""

    SEND = "send"
    NEEDS_APPROVAL = "needs_approval"
    DRAFT_ONLY = "draft_only"


# Kinds of write-back that only annotate an incident; everything else changes it.
ANNOTATIONS = frozenset({"comment", "custom_fields"})
HUMAN_ONLY_SEVERITIES = frozenset({"high", "critical"})
ANY_TASK = "*"


@dataclass(frozen=True)
class WriteBackRequest:
    """A write-back the appliance wants to make.

    Attributes:
        tenant: XDR tenant name.
        task: the task that produced it (triage, root_cause, response, closure…).
        kind: ``comment``, ``custom_fields``, or a change such as ``status``,
            ``severity``, ``assign``, ``group_alerts``.
        incident_id: the XDR incident it targets.
        incident_severity: the incident's current severity in XDR.
        confidence: the evidence-derived confidence of the result, 0 to 1.
        approved_by: set when a human approved this very change.
        details: what the change is, for the approval queue (no secrets).
        approval_id: the approval that ``approved_by`` granted.
    """

    tenant: str
    task: str
    kind: str
    incident_id: str
    incident_severity: str = "unknown"
    confidence: float = 0.0
    approved_by: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    approval_id: int | None = None


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and the reason, shown to operators and audited."""

    verdict: Verdict
    phase: Phase
    reason: str
    rule: str | None = None


@dataclass(frozen=True)
class AutomationRule:
    """A named change the automate phase may apply without a human."""

    name: str
    kind: str
    matches: Callable[[WriteBackRequest, Settings], bool]


def _is_false_positive_closure(request: WriteBackRequest, settings: Settings) -> bool:
    """Whether this closes the incident as a false positive with the set comment."""
    return (
        request.details.get("status") == "resolved_false_positive"
        and request.details.get("resolve_comment") == settings.automate_resolve_comment
        and set(request.details) <= {"status", "resolve_comment", "rule"}
    )


AUTOMATION_RULES: dict[str, AutomationRule] = {
    "close_false_positive": AutomationRule(
        "close_false_positive", "status", _is_false_positive_closure
    ),
}


def phase_for(session: Session, settings: Settings, tenant: str, task: str) -> Phase:
    """Return the rollout phase in force for this tenant and task.

    A setting for the task wins over the tenant's setting for every task, which
    wins over ``APPLIANCE_ROLLOUT_PHASE``.
    """
    rows = session.execute(
        select(RolloutSetting.task, RolloutSetting.phase).where(
            RolloutSetting.tenant == tenant, RolloutSetting.task.in_([task, ANY_TASK])
        )
    ).all()
    by_task = {row.task: row.phase for row in rows}
    chosen = by_task.get(task) or by_task.get(ANY_TASK) or settings.rollout_phase

    return Phase(chosen)


def hourly_limits(settings: Settings) -> dict[str, int]:
    """Parse ``APPLIANCE_AUTOMATE_HOURLY_LIMITS`` (``low=10,medium=5``)."""
    limits: dict[str, int] = {}
    for part in settings.automate_hourly_limits.split(","):
        name, _, value = part.partition("=")
        if name.strip() and value.strip():
            limits[name.strip().lower()] = int(value)

    return limits


def authorize(
    session: Session, settings: Settings, request: WriteBackRequest
) -> Decision:
    """Decide whether a write-back may be sent now.

    A SEND under an automation rule is counted (an :class:`AutomatedAction` row in
    the caller's transaction) towards the hourly limits.
    """
    phase = phase_for(session, settings, request.tenant, request.task)
    if phase == Phase.READ_ONLY:
        return Decision(Verdict.DRAFT_ONLY, phase, "read-only phase: kept as a draft")
    if request.kind in ANNOTATIONS:
        return Decision(
            Verdict.SEND, phase, "labelled annotation allowed in this phase"
        )
    if request.approved_by or request.approval_id is not None:
        return _approved(session, phase, request)
    severity = request.incident_severity.lower()
    if severity in HUMAN_ONLY_SEVERITIES:
        return Decision(
            Verdict.NEEDS_APPROVAL,
            phase,
            f"{severity} severity: a human must approve any change",
        )
    if phase == Phase.AUTOMATE:
        return _automated(session, settings, phase, request)

    return Decision(
        Verdict.NEEDS_APPROVAL,
        phase,
        "changes wait for approval until an automation rule allows them",
    )


def _approved(session: Session, phase: Phase, request: WriteBackRequest) -> Decision:
    """Send an approved change only if the approval queue vouches for it."""
    approval = (
        session.get(Approval, request.approval_id)
        if request.approval_id is not None
        else None
    )
    if (
        approval is None
        or approval.state != "approved"
        or approval.decided_by != request.approved_by
        or approval.incident_id != request.incident_id
        or approval.kind != request.kind
        or approval.tenant != request.tenant
        or approval.change != request.details
    ):
        return Decision(
            Verdict.NEEDS_APPROVAL,
            phase,
            "no matching approval on record: the change waits for one",
        )

    return Decision(Verdict.SEND, phase, f"approved by {request.approved_by}")


def _automated(
    session: Session, settings: Settings, phase: Phase, request: WriteBackRequest
) -> Decision:
    """Apply a named low-risk change above the threshold and within the limits."""
    rule = next(
        (
            r
            for r in AUTOMATION_RULES.values()
            if r.kind == request.kind and r.matches(request, settings)
        ),
        None,
    )
    if rule is None:
        return Decision(
            Verdict.NEEDS_APPROVAL, phase, "no automation rule covers this change"
        )
    if request.confidence < settings.automate_min_confidence:
        return Decision(
            Verdict.NEEDS_APPROVAL,
            phase,
            f"confidence {request.confidence:.2f} is below "
            f"{settings.automate_min_confidence:.2f}",
            rule.name,
        )
    severity = request.incident_severity.lower()
    limit = hourly_limits(settings).get(severity, 0)
    since = utcnow() - dt.timedelta(hours=1)
    recent = (
        select(func.count())
        .select_from(AutomatedAction)
        .where(
            AutomatedAction.tenant == request.tenant,
            AutomatedAction.decided_at >= since,
        )
    )
    total = session.scalar(recent) or 0
    same = (
        session.scalar(recent.where(AutomatedAction.incident_severity == severity)) or 0
    )
    if same >= limit or total >= settings.automate_max_per_hour:
        return Decision(
            Verdict.NEEDS_APPROVAL,
            phase,
            f"hourly automation limit reached for {severity} severity",
            rule.name,
        )
    session.add(
        AutomatedAction(
            tenant=request.tenant,
            task=request.task,
            rule=rule.name,
            incident_id=request.incident_id,
            incident_severity=severity,
            confidence=request.confidence,
            decided_at=utcnow(),
        )
    )
    session.flush()

    return Decision(
        Verdict.SEND, phase, f"automation rule {rule.name} applies", rule.name
    )
