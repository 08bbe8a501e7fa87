"""A durable job queue kept in the database.

A job is claimed by one worker under a lease. The worker extends the lease with
heartbeats; when it dies the lease runs out and another worker claims the job again.
Every state change after the claim is fenced on the lease owner, so a worker that lost
its lease can neither complete nor fail a job that someone else now holds: a job
completes exactly once.

Claiming is one statement. On PostgreSQL it picks a row with ``FOR UPDATE SKIP LOCKED``
so that many workers claim different jobs without waiting on each other; on SQLite the
write lock taken at the start of the transaction serializes claimers.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.db.tables import Job, JobState
from appliance.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

TERMINAL = (JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter between attempts of a failing job."""

    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempt: int) -> float:
        """Return the delay before the next try after ``attempt`` tries failed."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        # Half fixed, half random: spreads retries without ever retrying at once.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def attempts_within(self, seconds: float, default: int = 5) -> int:
        """Return how many attempts make retries span at least ``seconds``.

        Without a backoff (zero delays) no number of attempts spans any time; then
        ``default`` is returned.
        """
        if self.base_seconds <= 0 or self.max_seconds <= 0:
            return default
        attempts, waited, ceiling = 1, 0.0, self.base_seconds
        while waited < seconds:
            waited += min(ceiling, self.max_seconds) / 2
            ceiling *= 2
            attempts += 1

        return attempts


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
    priority: int = 100,
    max_attempts: int = 5,
    run_after: dt.datetime | None = None,
    correlation_id: str | None = None,
) -> tuple[Job, bool]:
    """Add a job unless one with the same idempotency key exists.

    The insert runs in a savepoint so that a duplicate key leaves the caller's
    transaction usable.

    Returns:
        The job and whether it was created now (False: an existing job was found).
    """
    if idempotency_key is not None:
        existing = session.scalar(
            select(Job).where(Job.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing, False

    job = Job(
        kind=kind,
        payload=payload or {},
        idempotency_key=idempotency_key,
        priority=priority,
        max_attempts=max_attempts,
        run_after=run_after or utcnow(),
        correlation_id=correlation_id,
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(Job).where(Job.idempotency_key == idempotency_key)
        )
        if existing is None:
            raise
        return existing, False
    except DBAPIError as exc:
        # SQLite ends the whole transaction on some errors (a full disk); rolling
        # back to the savepoint then fails, and that error would hide the reason.
        if isinstance(exc.__context__, DBAPIError):
            raise exc.__context__ from None
        raise

    logger.info("job enqueued", extra={"job_id": job.id, "job_kind": kind})
    return job, True


def _claimable(now: dt.datetime, kinds: Sequence[str] | None) -> Any:
    """Return the condition a job must meet to be claimed now."""
    waiting = and_(Job.state == JobState.QUEUED, Job.run_after <= now)
    abandoned = and_(Job.state == JobState.RUNNING, Job.lease_expires_at < now)
    condition = and_(or_(waiting, abandoned), Job.cancel_requested.is_(False))
    if kinds:
        condition = and_(condition, Job.kind.in_(list(kinds)))

    return condition


def claim(
    db: Database,
    worker_id: str,
    *,
    lease_seconds: float,
    kinds: Sequence[str] | None = None,
) -> Job | None:
    """Lease the next runnable job to ``worker_id``, or return None.

    A job whose previous holder let its lease expire is claimed again, unless it used
    all its attempts: :func:`reap_exhausted`, which workers run now and then, moves
    those to the dead-letter state.
    """
    now = utcnow()
    pick = (
        select(Job.id)
        .where(_claimable(now, kinds), Job.attempts < Job.max_attempts)
        .order_by(Job.priority, Job.run_after, Job.id)
        .limit(1)
    )
    if db.is_postgres:
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id == pick.scalar_subquery())
        .values(
            state=JobState.RUNNING,
            lease_owner=worker_id,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            heartbeat_at=now,
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        job = session.scalars(statement).one_or_none()

    if job is not None:
        logger.info(
            "job claimed",
            extra={"job_id": job.id, "job_kind": job.kind, "attempt": job.attempts},
        )
    return job


def reap_exhausted(db: Database) -> int:
    """Dead-letter running jobs whose lease expired on their last attempt."""
    now = utcnow()
    statement = (
        update(Job)
        .where(
            Job.state == JobState.RUNNING,
            Job.lease_expires_at < now,
            Job.attempts >= Job.max_attempts,
        )
        .values(
            state=JobState.DEAD,
            last_error="lease expired on the last attempt (worker lost)",
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        count = session.execute(statement).rowcount  # type: ignore[attr-defined]

    if count:
        logger.warning("jobs dead-lettered after lost leases", extra={"count": count})
    return int(count or 0)


def _owned(job_id: int, worker_id: str) -> Any:
    """Return the fence: this job, running, leased to this worker."""
    return and_(
        Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == worker_id
    )


def heartbeat(
    db: Database,
    job_id: int,
    worker_id: str,
    *,
    lease_seconds: float,
    progress: dict[str, Any] | None = None,
) -> bool:
    """Extend the lease; return False when the worker no longer holds the job.

    A cancellation request also returns False, so the worker stops the job.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "heartbeat_at": now,
        "lease_expires_at": now + dt.timedelta(seconds=lease_seconds),
        "updated_at": now,
    }
    if progress is not None:
        values["progress"] = progress
    statement = (
        update(Job)
        .where(_owned(job_id, worker_id), Job.cancel_requested.is_(False))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def complete(
    session: Session, job_id: int, worker_id: str, result: dict[str, Any] | None
) -> bool:
    """Mark the job succeeded inside the caller's transaction.

    The handler's own writes share this transaction, so they commit together with
    the completion or not at all. Returns False when the lease was lost; the caller
    must then roll back.
    """
    now = utcnow()
    statement = (
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(
            state=JobState.SUCCEEDED,
            result=result,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def fail(
    db: Database,
    job_id: int,
    worker_id: str,
    error: str,
    *,
    retryable: bool,
    policy: RetryPolicy,
) -> JobState | None:
    """Record a failed attempt: schedule a retry, or dead-letter the job.

    Returns the job's new state, or None when the worker no longer held it.
    """
    now = utcnow()
    with db.session() as session:
        job = session.scalar(select(Job).where(_owned(job_id, worker_id)))
        if job is None:
            return None
        job.last_error = error[:4000]
        job.lease_owner = None
        job.lease_expires_at = None
        if retryable and job.attempts < job.max_attempts and not job.cancel_requested:
            job.state = JobState.QUEUED
            job.run_after = now + dt.timedelta(seconds=policy.delay(job.attempts))
        elif job.cancel_requested:
            job.state = JobState.CANCELLED
            job.finished_at = now
        else:
            job.state = JobState.DEAD
            job.finished_at = now
        state = job.state

    log = logger.error if state == JobState.DEAD else logger.warning
    log("job attempt failed", extra={"job_id": job_id, "job_state": str(state)})
    return state


def release(db: Database, job_id: int, worker_id: str) -> bool:
    """Give a job back unfinished (worker shutting down); the attempt is not counted."""
    now = utcnow()
    statement = (
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(
            state=JobState.QUEUED,
            lease_owner=None,
            lease_expires_at=None,
            attempts=Job.attempts - 1,
            run_after=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        released = bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]

    if released:
        logger.info("job released", extra={"job_id": job_id})
    return released


def cancel(db: Database, job_id: int) -> Job:
    """Cancel a job: at once when queued, at its next heartbeat when running.

    Raises:
        NotFound: no such job.
        Conflict: the job already finished.
    """
    now = utcnow()
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if job.state in TERMINAL:
            raise Conflict(f"job {job_id} is already {job.state.value}")
        job.cancel_requested = True
        if job.state == JobState.QUEUED:
            job.state = JobState.CANCELLED
            job.finished_at = now

    logger.info("job cancel requested", extra={"job_id": job_id})
    return job


def finish_cancelled(db: Database, job_id: int, worker_id: str) -> None:
    """Mark a running job cancelled once its worker has stopped it."""
    now = utcnow()
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING)
        .where(or_(Job.lease_owner == worker_id, Job.cancel_requested.is_(True)))
        .values(
            state=JobState.CANCELLED,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        session.execute(statement)


def counts_by_state(session: Session) -> dict[str, int]:
    """Return the number of jobs in each state."""
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state))
    counts = {state.value: 0 for state in JobState}
    for state, count in rows:
        counts[JobState(state).value] = int(count)

    return counts


def oldest_queued_age(session: Session) -> float:
    """Return how long the oldest runnable queued job has waited, in seconds."""
    now = utcnow()
    oldest = session.scalar(
        select(func.min(Job.run_after)).where(
            Job.state == JobState.QUEUED, Job.run_after <= now
        )
    )
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)

    return max((now - oldest).total_seconds(), 0.0)
