import pytest

from appliance.governance import approvals, phases
from appliance.governance.gate import Verdict, WriteBackRequest, authorize, phase_for

COMMENT = WriteBackRequest("t1", "triage", "comment", "7", "low", 0.99)


def _closure(settings, severity="low", confidence=0.99, **extra):
    details = {
        "status": "resolved_false_positive",
        "resolve_comment": settings.automate_resolve_comment,
        **extra,
    }
    return WriteBackRequest(
        "t1", "closure", "status", "7", severity, confidence, details=details
    )


def _set(db, settings, phase, task="*"):
    with db.session() as session:
        phases.set_phase(
            session, settings, tenant="t1", task=task, phase=phase, actor="admin"
        )


def _decide(db, settings, request):
    with db.session() as session:
        return authorize(session, settings, request).verdict


def test_read_only_sends_nothing(db, settings):
    assert _decide(db, settings, COMMENT) == Verdict.DRAFT_ONLY
    assert _decide(db, settings, _closure(settings)) == Verdict.DRAFT_ONLY


def test_suggest_posts_annotations_and_queues_every_change(db, settings):
    _set(db, settings, "suggest")

    assert _decide(db, settings, COMMENT) == Verdict.SEND
    assert _decide(db, settings, _closure(settings)) == Verdict.NEEDS_APPROVAL


@pytest.mark.parametrize(
    ("severity", "confidence", "extra", "verdict"),
    [
        ("low", 0.99, {}, Verdict.SEND),
        ("low", 0.5, {}, Verdict.NEEDS_APPROVAL),
        ("high", 0.99, {}, Verdict.NEEDS_APPROVAL),
        ("critical", 0.99, {}, Verdict.NEEDS_APPROVAL),
        ("low", 0.99, {"assign": "bob"}, Verdict.NEEDS_APPROVAL),
    ],
)
def test_automate_applies_only_the_named_rule(
    db, settings, severity, confidence, extra, verdict
):
    _set(db, settings, "automate")

    assert (
        _decide(db, settings, _closure(settings, severity, confidence, **extra))
        == verdict
    )


def test_automate_never_applies_other_changes(db, settings):
    _set(db, settings, "automate")
    other = WriteBackRequest(
        "t1", "closure", "severity", "7", "low", 1.0, details={"severity": "low"}
    )

    assert _decide(db, settings, other) == Verdict.NEEDS_APPROVAL


def test_automate_stops_at_the_hourly_limit_per_severity(db, settings):
    _set(db, settings, "automate")
    limit = 5  # medium in the default APPLIANCE_AUTOMATE_HOURLY_LIMITS

    verdicts = [
        _decide(db, settings, _closure(settings, "medium")) for _ in range(limit + 1)
    ]

    assert verdicts == [Verdict.SEND] * limit + [Verdict.NEEDS_APPROVAL]
    assert _decide(db, settings, _closure(settings, "low")) == Verdict.SEND


def test_task_phase_wins_over_tenant_phase(db, settings):
    _set(db, settings, "suggest")
    _set(db, settings, "read_only", task="closure")

    with db.read_session() as session:
        assert phase_for(session, settings, "t1", "triage") == "suggest"
        assert phase_for(session, settings, "t1", "closure") == "read_only"
        assert phase_for(session, settings, "t2", "triage") == settings.rollout_phase


def test_a_claimed_approval_must_be_on_record(db, settings):
    _set(db, settings, "suggest")
    change = _closure(settings, "high")
    forged = WriteBackRequest(**{**change.__dict__, "approved_by": "mallory"})
    assert _decide(db, settings, forged) == Verdict.NEEDS_APPROVAL

    sent = []
    with db.session() as session:
        approval = approvals.propose(session, settings, change, reason="high severity")
        approval_id = approval.id
    with db.session() as session:
        approvals.approve(
            session,
            settings,
            approval_id,
            actor="alice",
            comment="ok",
            submitter=lambda s, st, request: sent.append(request) or "outbox-1",
        )

    assert sent[0].approved_by == "alice"
    assert _decide(db, settings, sent[0]) == Verdict.SEND
    altered = WriteBackRequest(**{**sent[0].__dict__, "incident_id": "8"})
    assert _decide(db, settings, altered) == Verdict.NEEDS_APPROVAL
