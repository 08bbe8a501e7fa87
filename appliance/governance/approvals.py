"""The approval queue: proposed changes that wait for a human decision.

The write-back path proposes a change when the gate answers NEEDS_APPROVAL. An
analyst approves or rejects it with a comment; an approval hands the very same
change, now carrying ``approved_by`` and ``approval_id``, back to the write-back
path, where the gate checks the approval on record before anything is sent.
Undecided proposals expire.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.errors import Conflict, NotFound
from appliance.governance import audit
from appliance.governance.gate import WriteBackRequest
from appliance.governance.tables import Approval

logger = logging.getLogger(__name__)

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"
STATES = (PENDING, APPROVED, REJECTED, EXPIRED)

# Hands an approved change to the write-back path and returns its reference (the
# outbox id). The XDR domain provides it as ``appliance.xdr.writeback.submit``.
Submitter = Callable[[Session, Settings, WriteBackRequest], Any]
SUBMITTER_PATH = ("appliance.xdr.writeback", "submit")


def propose(
    session: Session,
    settings: Settings,
    request: WriteBackRequest,
    *,
    reason: str,
    evidence: list[Any] | None = None,
    correlation_id: str | None = None,
) -> Approval:
    """Queue a change for approval; an identical pending proposal is reused."""
    existing = session.scalar(
        select(Approval).where(
            Approval.state == PENDING,
            Approval.tenant == request.tenant,
            Approval.incident_id == request.incident_id,
            Approval.kind == request.kind,
            Approval.task == request.task,
        )
    )
    if existing is not None and existing.change == request.details:
        return existing
    approval = Approval(
        tenant=request.tenant,
        task=request.task,
        kind=request.kind,
        incident_id=request.incident_id,
        incident_severity=request.incident_severity.lower(),
        confidence=request.confidence,
        change=dict(request.details),
        evidence=list(evidence or []),
        reason=reason[:300],
        state=PENDING,
        expires_at=utcnow() + dt.timedelta(hours=settings.approval_expiry_hours),
        correlation_id=correlation_id,
    )
    session.add(approval)
    session.flush()
    audit.record(
        session,
        actor="appliance",
        action="approval.propose",
        outcome="info",
        tenant=request.tenant,
        target=f"incident:{request.incident_id}",
        correlation_id=correlation_id,
        details={
            "approval_id": approval.id,
            "kind": request.kind,
            "task": request.task,
        },
        settings=settings,
    )

    return approval


def expire_due(session: Session, settings: Settings) -> int:
    """Mark pending proposals past their expiry as expired; return how many."""
    now = utcnow()
    due = list(
        session.scalars(
            select(Approval).where(Approval.state == PENDING, Approval.expires_at < now)
        )
    )
    for approval in due:
        approval.state = EXPIRED
        approval.decided_at = now
        audit.record(
            session,
            actor="appliance",
            action="approval.expire",
            outcome="info",
            tenant=approval.tenant,
            target=f"incident:{approval.incident_id}",
            correlation_id=approval.correlation_id,
            details={"approval_id": approval.id},
            settings=settings,
        )

    return len(due)


def _pending(session: Session, settings: Settings, approval_id: int) -> Approval:
    """Return a pending, unexpired approval, or raise."""
    expire_due(session, settings)
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(f"approval {approval_id} does not exist")
    if approval.state != PENDING:
        raise Conflict(f"approval {approval_id} is already {approval.state}")

    return approval


def request_of(approval: Approval) -> WriteBackRequest:
    """Rebuild the write-back request an approval stands for, with its approver."""
    return WriteBackRequest(
        tenant=approval.tenant,
        task=approval.task,
        kind=approval.kind,
        incident_id=approval.incident_id,
        incident_severity=approval.incident_severity,
        confidence=approval.confidence,
        approved_by=approval.decided_by,
        details=dict(approval.change),
        approval_id=approval.id,
    )


def default_submitter() -> Submitter | None:
    """Return the write-back path's submit function, if that domain is installed."""
    module_name, attribute = SUBMITTER_PATH
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    submitter: Submitter | None = getattr(module, attribute, None)

    return submitter


def approve(
    session: Session,
    settings: Settings,
    approval_id: int,
    *,
    actor: str,
    comment: str,
    submitter: Submitter | None = None,
) -> Approval:
    """Approve a proposal and hand the change to the audited write-back path."""
    approval = _pending(session, settings, approval_id)
    audit_target = f"incident:{approval.incident_id}"
    audit.record(
        session,
        actor=actor,
        action="approval.approve",
        outcome="attempt",
        tenant=approval.tenant,
        target=audit_target,
        correlation_id=approval.correlation_id,
        details={"approval_id": approval.id},
        settings=settings,
    )
    # A conditional update, so two analysts deciding at once cannot both win.
    now = utcnow()
    result = session.execute(
        update(Approval)
        .where(Approval.id == approval.id, Approval.state == PENDING)
        .values(state=APPROVED, decided_by=actor, decided_at=now, comment=comment)
        .execution_options(synchronize_session="fetch")
    )
    if not getattr(result, "rowcount", 0):
        raise Conflict(f"approval {approval_id} was decided by someone else")
    session.refresh(approval)
    submit = submitter or default_submitter()
    if submit is not None:
        reference = submit(session, settings, request_of(approval))
        approval.applied_at = utcnow()
        approval.applied_ref = None if reference is None else str(reference)[:64]
    else:
        logger.warning(
            "no write-back path installed; approval kept for it",
            extra={"approval_id": approval.id},
        )
    audit.record(
        session,
        actor=actor,
        action="approval.approve",
        outcome="success",
        tenant=approval.tenant,
        target=audit_target,
        correlation_id=approval.correlation_id,
        details={"approval_id": approval.id, "applied_ref": approval.applied_ref},
        settings=settings,
    )

    return approval


def reject(
    session: Session, settings: Settings, approval_id: int, *, actor: str, comment: str
) -> Approval:
    """Reject a proposal; nothing is sent."""
    approval = _pending(session, settings, approval_id)
    approval.state = REJECTED
    approval.decided_by = actor
    approval.decided_at = utcnow()
    approval.comment = comment
    audit.record(
        session,
        actor=actor,
        action="approval.reject",
        outcome="success",
        tenant=approval.tenant,
        target=f"incident:{approval.incident_id}",
        correlation_id=approval.correlation_id,
        details={"approval_id": approval.id},
        settings=settings,
    )

    return approval


def listing(
    session: Session, state: str | None = None, limit: int = 100
) -> list[Approval]:
    """Return approvals, newest first, optionally in one state."""
    statement = select(Approval).order_by(Approval.id.desc()).limit(limit)
    if state:
        statement = statement.where(Approval.state == state)

    return list(session.scalars(statement))
