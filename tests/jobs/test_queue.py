import datetime as dt

import pytest
from sqlalchemy import select, update

from appliance.db.base import utcnow
from appliance.db.tables import Job, JobState
from appliance.errors import Conflict, NotFound
from appliance.jobs import queue

POLICY = queue.RetryPolicy(base_seconds=0.0, max_seconds=0.0)


def _enqueue(db, kind="test.effect", **kwargs):
    with db.session() as session:
        job, created = queue.enqueue(session, kind, {"n": 1}, **kwargs)
        return job.id, created


def _job(db, job_id) -> Job:
    with db.read_session() as session:
        return session.get(Job, job_id)


def _expire_lease(db, job_id):
    with db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )


def test_idempotency_key_enqueues_once(any_db):
    first, created_first = _enqueue(any_db, idempotency_key="incident-1:1700000000")
    second, created_second = _enqueue(any_db, idempotency_key="incident-1:1700000000")

    assert (created_first, created_second) == (True, False)
    assert first == second


def test_claim_takes_priority_then_age_and_counts_the_attempt(any_db):
    low, _ = _enqueue(any_db, priority=200)
    high, _ = _enqueue(any_db, priority=10)

    job = queue.claim(any_db, "w1", lease_seconds=30)

    assert job.id == high
    assert job.state == JobState.RUNNING and job.attempts == 1
    assert queue.claim(any_db, "w2", lease_seconds=30).id == low
    assert queue.claim(any_db, "w3", lease_seconds=30) is None


def test_future_jobs_wait_for_their_time(any_db):
    _enqueue(any_db, run_after=utcnow() + dt.timedelta(hours=1))

    assert queue.claim(any_db, "w1", lease_seconds=30) is None


def test_expired_lease_is_claimed_again_and_the_old_holder_is_fenced_out(any_db):
    job_id, _ = _enqueue(any_db)
    queue.claim(any_db, "dead-worker", lease_seconds=30)
    _expire_lease(any_db, job_id)

    again = queue.claim(any_db, "live-worker", lease_seconds=30)
    with any_db.session() as session:
        stale_completed = queue.complete(session, job_id, "dead-worker", {"x": 1})

    assert again.id == job_id and again.attempts == 2
    assert stale_completed is False
    assert not queue.heartbeat(any_db, job_id, "dead-worker", lease_seconds=30)
    with any_db.session() as session:
        assert queue.complete(session, job_id, "live-worker", {"x": 2})
    assert _job(any_db, job_id).result == {"x": 2}


def test_lost_lease_on_the_last_attempt_dead_letters_the_job(any_db):
    job_id, _ = _enqueue(any_db, max_attempts=1)
    queue.claim(any_db, "w1", lease_seconds=30)
    _expire_lease(any_db, job_id)

    assert queue.claim(any_db, "w2", lease_seconds=30) is None
    assert queue.reap_exhausted(any_db) == 1
    job = _job(any_db, job_id)
    assert job.state == JobState.DEAD
    assert "lease expired" in job.last_error


def test_failures_retry_with_backoff_then_dead_letter(any_db):
    job_id, _ = _enqueue(any_db, max_attempts=2)

    queue.claim(any_db, "w1", lease_seconds=30)
    first = queue.fail(any_db, job_id, "w1", "boom 1", retryable=True, policy=POLICY)
    queue.claim(any_db, "w1", lease_seconds=30)
    second = queue.fail(any_db, job_id, "w1", "boom 2", retryable=True, policy=POLICY)

    assert (first, second) == (JobState.QUEUED, JobState.DEAD)
    job = _job(any_db, job_id)
    assert job.last_error == "boom 2" and job.finished_at is not None


def test_permanent_failure_dead_letters_at_once(any_db):
    job_id, _ = _enqueue(any_db)
    queue.claim(any_db, "w1", lease_seconds=30)

    state = queue.fail(
        any_db, job_id, "w1", "bad input", retryable=False, policy=POLICY
    )

    assert state == JobState.DEAD


def test_backoff_grows_exponentially_within_bounds():
    policy = queue.RetryPolicy(base_seconds=2.0, max_seconds=60.0)

    delays = [policy.delay(attempt) for attempt in range(1, 9)]

    assert 1.0 <= delays[0] <= 2.0
    assert 4.0 <= delays[2] <= 8.0
    assert all(30.0 <= d <= 60.0 for d in delays[5:])


def test_cancel_queued_job_at_once_and_refuse_finished_ones(any_db):
    job_id, _ = _enqueue(any_db)

    cancelled = queue.cancel(any_db, job_id)

    assert cancelled.state == JobState.CANCELLED
    with pytest.raises(Conflict):
        queue.cancel(any_db, job_id)
    with pytest.raises(NotFound):
        queue.cancel(any_db, 999_999)


def test_cancel_running_job_refuses_its_next_heartbeat(any_db):
    job_id, _ = _enqueue(any_db)
    queue.claim(any_db, "w1", lease_seconds=30)

    queue.cancel(any_db, job_id)

    assert not queue.heartbeat(any_db, job_id, "w1", lease_seconds=30)
    queue.finish_cancelled(any_db, job_id, "w1")
    assert _job(any_db, job_id).state == JobState.CANCELLED


def test_release_returns_the_job_without_spending_an_attempt(any_db):
    job_id, _ = _enqueue(any_db)
    queue.claim(any_db, "w1", lease_seconds=30)

    assert queue.release(any_db, job_id, "w1")

    job = _job(any_db, job_id)
    assert job.state == JobState.QUEUED and job.attempts == 0


def test_counts_and_age_reflect_the_queue(any_db):
    _enqueue(any_db)
    _enqueue(any_db)
    queue.claim(any_db, "w1", lease_seconds=30)

    with any_db.read_session() as session:
        counts = queue.counts_by_state(session)
        age = queue.oldest_queued_age(session)
        total = len(session.scalars(select(Job)).all())

    assert counts["queued"] == 1 and counts["running"] == 1 and total == 2
    assert age >= 0.0
