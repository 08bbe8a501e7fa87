"""The one gate every write-back to Cortex XDR passes before it is sent.

The rollout phase decides what the appliance may do on its own:

- ``read_only``: nothing is sent; results stay drafts inside the appliance.
- ``suggest``: labelled comments and custom fields are posted; proposed changes to the
  incident (status, severity, grouping, assignment) wait for a human approval.
- ``automate``: named low-risk changes above a confidence threshold are applied.

Whatever the phase, a change to a high or critical severity incident always waits for
a human.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from appliance.config import Settings


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
    """

    tenant: str
    task: str
    kind: str
    incident_id: str
    incident_severity: str = "unknown"
    confidence: float = 0.0
    approved_by: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and the reason, shown to operators and audited."""

    verdict: Verdict
    phase: Phase
    reason: str


def phase_for(session: Session, settings: Settings, tenant: str, task: str) -> Phase:
    """Return the rollout phase in force for this tenant and task."""
    return Phase(settings.rollout_phase)


def authorize(
    session: Session, settings: Settings, request: WriteBackRequest
) -> Decision:
    """Decide whether a write-back may be sent now."""
    phase = phase_for(session, settings, request.tenant, request.task)
    if phase == Phase.READ_ONLY:
        return Decision(Verdict.DRAFT_ONLY, phase, "read-only phase: kept as a draft")
    if request.kind in ANNOTATIONS:
        return Decision(
            Verdict.SEND, phase, "labelled annotation allowed in this phase"
        )
    if request.approved_by:
        return Decision(Verdict.SEND, phase, f"approved by {request.approved_by}")
    if request.incident_severity.lower() in HUMAN_ONLY_SEVERITIES:
        return Decision(
            Verdict.NEEDS_APPROVAL,
            phase,
            f"{request.incident_severity} severity: a human must approve any change",
        )
    return Decision(
        Verdict.NEEDS_APPROVAL,
        phase,
        "changes wait for approval until an automation rule allows them",
    )
