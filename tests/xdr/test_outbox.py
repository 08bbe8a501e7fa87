"""The outbox: leased sends, retries, permanent failures, approvals, drafts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.errors import Conflict, ValidationFailed
from appliance.governance import approvals
from appliance.governance.gate import WriteBackRequest
from appliance.governance.tables import Approval
from appliance.xdr import outbox
from appliance.xdr.sandbox import Faults
from appliance.xdr.tables import OutboxEntry, OutboxState
from appliance.xdr.writeback import AI_LABEL, queue_write_back
from tests.fakes.xdr_sandbox import RunningSandbox, running_sandbox


def queue(
    db: Database,
    settings: Settings,
    *,
    incident: str = "101",
    kind: str = "comment",
    key: str = "k1",
    severity: str = "low",
    change: dict | None = None,
) -> OutboxEntry:
    with db.session() as session:
        return queue_write_back(
            session,
            settings,
            WriteBackRequest(
                tenant=settings.tenant,
                task="triage",
                kind=kind,
                incident_id=incident,
                incident_severity=severity,
            ),
            idempotency_key=key,
            text="Summary." if kind == "comment" else None,
            change=change,
            actor="test",
            correlation_id="corr-1",
        )


@pytest.fixture
def suggest(settings: Settings) -> Settings:
    return replace(
        settings,
        rollout_phase="suggest",
        xdr_backoff_base_seconds=0.0,
        xdr_backoff_max_seconds=0.0,
    )


def test_comment_is_sent_once_and_audited(
    suggest: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    entry = queue(db, suggest)
    with sandbox.client() as client:
        assert outbox.send_due(db, client, suggest, "s1") == (1, 0)
        assert outbox.send_due(db, client, suggest, "s1") == (0, 0)

    assert sandbox.tenant.comments["101"][0].startswith(AI_LABEL)
    with db.read_session() as session:
        assert session.get(OutboxEntry, entry.id).state == OutboxState.SENT
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == outbox.ACTION)
        ).all()
        assert [r.outcome for r in rows] == ["attempt", "success"]
        assert {r.correlation_id for r in rows} == {"corr-1"}
        assert "Summary" not in str([r.details for r in rows])


def test_a_permanent_error_marks_the_row_failed(
    suggest: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    entry = queue(db, suggest, incident="does-not-exist-but-500")
    with running_sandbox(Faults(rate=1.0, kinds=("500",))) as box:
        with box.client(max_attempts=1) as client:
            outbox.send_due(db, client, replace(suggest, outbox_max_attempts=2), "s")
            outbox.send_due(db, client, replace(suggest, outbox_max_attempts=2), "s")

    with db.read_session() as session:
        row = session.get(OutboxEntry, entry.id)
        assert row.state == OutboxState.FAILED
        assert row.attempts == 2
        assert "500" in (row.last_error or "")


def test_a_leased_row_is_not_claimed_twice(suggest: Settings, db: Database) -> None:
    queue(db, suggest)

    assert len(outbox.claim_due(db, "a", 10)) == 1
    assert outbox.claim_due(db, "b", 10) == []


def test_change_to_high_severity_waits_for_approval_then_sends(
    suggest: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    entry = queue(
        db,
        suggest,
        kind="status",
        severity="high",
        change={"status": "resolved_false_positive"},
    )
    assert entry.state == OutboxState.NEEDS_APPROVAL
    assert entry.approval_id is not None
    with sandbox.client() as client:
        assert outbox.send_due(db, client, suggest, "s") == (0, 0)
        with db.session() as session:
            approval = approvals.approve(
                session, suggest, entry.approval_id, actor="alice", comment="seen it"
            )
            assert approval.applied_ref == str(entry.id)
        assert outbox.send_due(db, client, suggest, "s") == (1, 0)

    assert sandbox.tenant.incidents["101"]["incident"]["status"] == (
        "resolved_false_positive"
    )
    with db.read_session() as session:
        released = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "xdr.write_back.release")
        ).one()
        assert released.actor == "alice"


def test_a_rejected_change_is_never_sent(
    suggest: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    entry = queue(db, suggest, kind="status", change={"status": "under_investigation"})
    assert entry.approval_id is not None
    with db.session() as session:
        approvals.reject(session, suggest, entry.approval_id, actor="bob", comment="no")
    with sandbox.client() as client:
        assert outbox.send_due(db, client, suggest, "s") == (0, 0)

    assert sandbox.tenant.writes.get("101", 0) == 0
    with db.read_session() as session:
        assert session.get(OutboxEntry, entry.id).state == OutboxState.NEEDS_APPROVAL


def test_an_approval_is_refused_when_the_phase_fell_back_to_read_only(
    suggest: Settings, db: Database
) -> None:
    entry = queue(db, suggest, kind="status", change={"status": "under_investigation"})
    read_only = replace(suggest, rollout_phase="read_only")
    with pytest.raises(Conflict, match="read-only"), db.session() as session:
        approvals.approve(
            session, read_only, entry.approval_id, actor="alice", comment="ok"
        )

    with db.read_session() as session:
        assert session.get(Approval, entry.approval_id).state == approvals.PENDING
        assert session.get(OutboxEntry, entry.id).state == OutboxState.NEEDS_APPROVAL


def test_same_key_returns_the_first_row(suggest: Settings, db: Database) -> None:
    first = queue(db, suggest, key="same")
    second = queue(db, suggest, key="same")

    assert first.id == second.id


def test_an_invalid_change_is_refused(suggest: Settings, db: Database) -> None:
    with pytest.raises(ValidationFailed):
        queue(db, suggest, kind="status", change={"status": "closed"})


def test_send_and_snapshot_on_sqlite_and_postgres(
    any_settings: Settings, any_db: Database, sandbox: RunningSandbox
) -> None:
    from appliance.xdr.ingest import store_snapshot
    from appliance.xdr.tables import XdrAlert

    config = replace(any_settings, rollout_phase="suggest")
    with sandbox.client() as client:
        extra = client.get_incident_extra_data("102")
        with any_db.session() as session:
            store_snapshot(session, config.tenant, extra)
            store_snapshot(session, config.tenant, extra)  # replaces, never doubles
        queue(any_db, config, incident="102")
        assert outbox.claim_due(any_db, "other", 0) == []
        assert outbox.send_due(any_db, client, config, "s") == (1, 0)

    assert sandbox.tenant.writes["102"] == 1
    with any_db.read_session() as session:
        alerts = session.scalars(select(XdrAlert.alert_id)).all()
        assert sorted(alerts) == ["9201", "9202", "9203"]


def test_a_row_whose_lease_ran_out_is_not_sent_by_its_old_owner(
    suggest: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    queue(db, suggest)
    [entry_id] = outbox.claim_due(db, "slow-sender", 10, lease=-1.0)  # already over
    [again] = outbox.claim_due(db, "new-sender", 10)
    with sandbox.client() as client:
        assert not outbox.send_one(db, client, suggest, entry_id, "slow-sender")
        assert outbox.send_one(db, client, suggest, again, "new-sender")

    assert sandbox.tenant.writes["101"] == 1
