"""The worker: claims jobs, runs their handlers, and reports its own liveness.

The handler runs in a thread of its own while the main thread keeps the lease alive
with heartbeats. On SIGTERM the worker stops claiming, gives the running job the
configured grace period to finish, and otherwise releases it so another worker can
take it at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.db.tables import Job, WorkerHeartbeat
from appliance.errors import JobError
from appliance.governance import audit
from appliance.jobs import queue
from appliance.jobs.registry import JobContext, get_handler, load_handlers
from appliance.log import log_context

logger = logging.getLogger(__name__)

# Background duties a domain adds to the worker loop (the XDR poller, the outbox
# sender); each is called with the worker between jobs and must return quickly.
Duty = Callable[["Worker"], None]
# What a domain reports about itself in the worker's heartbeat (model backend state).
InfoProvider = Callable[[], dict[str, Any]]
# The database is unreachable or refuses writes for now (a restart, a lock held past
# the busy timeout, a full disk): the worker waits and tries again instead of exiting.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
MAX_RETRY_SECONDS = 5.0


class Worker:
    """One worker process's loop over the job queue."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        kinds: list[str] | None = None,
        extra_modules: list[str] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.kinds = kinds
        self.worker_id = (
            worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self.known_kinds = load_handlers(extra_modules)
        # Audit rows written by handlers are signed with this appliance's key.
        audit.configure(settings)
        self.policy = queue.RetryPolicy(
            settings.job_backoff_base_seconds, settings.job_backoff_max_seconds
        )
        self.duties: list[Duty] = []
        self.info_providers: dict[str, InfoProvider] = {}
        self.jobs_done = 0
        self._stopping = threading.Event()
        self._started_at = utcnow()
        self._current: JobContext | None = None

    # --- lifecycle ------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """Stop gracefully on SIGTERM and SIGINT."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            logger.info("worker stopping on signal", extra={"signal": signum})
            self._stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def stop(self) -> None:
        """Ask the loop to stop after the current job."""
        self._stopping.set()

    def run(self, *, max_jobs: int | None = None, idle_exit: bool = False) -> int:
        """Claim and run jobs until stopped; return the number of jobs run.

        Args:
            max_jobs: stop after this many jobs (tests and demos).
            idle_exit: stop as soon as the queue has nothing runnable.
        """
        logger.info(
            "worker started",
            extra={"worker_id": self.worker_id, "job_kinds": self.known_kinds},
        )
        self._beat("idle")
        ran = 0
        next_reap = 0.0
        failures = 0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_reap:
                    queue.reap_exhausted(self.db)
                    next_reap = time.monotonic() + self.settings.job_lease_seconds / 2
                self._run_duties()
                job = queue.claim(
                    self.db,
                    self.worker_id,
                    lease_seconds=self.settings.job_lease_seconds,
                    kinds=self.kinds,
                )
            except DATABASE_UNAVAILABLE as exc:
                failures += 1
                self._wait_for_database(exc, failures)
                continue
            failures = 0
            if job is None:
                if idle_exit:
                    break
                self._beat("idle")
                self._stopping.wait(self.settings.worker_poll_seconds)
                continue
            try:
                self._execute(job)
            except DATABASE_UNAVAILABLE as exc:
                # The outcome was not recorded; the job's lease runs out and it is
                # claimed again, and the fence on completion keeps it from
                # completing twice.
                self._current = None
                self._wait_for_database(exc, 1)
            ran += 1
            if max_jobs is not None and ran >= max_jobs:
                break

        self._beat("stopped")
        logger.info("worker stopped", extra={"worker_id": self.worker_id, "jobs": ran})
        return ran

    def _wait_for_database(self, error: Exception, failures: int) -> None:
        """Wait before the next try, longer after each failure in a row."""
        delay = min(self.settings.worker_poll_seconds * 2**failures, MAX_RETRY_SECONDS)
        logger.warning(
            "database unavailable; worker retrying",
            extra={"error_type": type(error).__name__, "retry_in_s": delay},
        )
        self._stopping.wait(delay)

    # --- one job --------------------------------------------------------------------

    def _execute(self, job: Job) -> None:
        """Run one claimed job to an outcome: done, retried, dead or released."""
        ctx = JobContext(
            db=self.db,
            settings=self.settings,
            worker_id=self.worker_id,
            job_id=job.id,
            kind=job.kind,
            payload=dict(job.payload or {}),
            attempt=job.attempts,
            correlation_id=job.correlation_id,
        )
        self._current = ctx
        outcome: dict[str, Any] = {}

        def target() -> None:
            with log_context(job_id=job.id, correlation_id=job.correlation_id):
                try:
                    outcome["result"] = get_handler(job.kind)(ctx)
                except BaseException as exc:  # noqa: BLE001 - reported to the queue
                    outcome["error"] = exc
                    outcome["trace"] = traceback.format_exc()

        runner = threading.Thread(target=target, name=f"job-{job.id}", daemon=True)
        started = time.monotonic()
        self._beat("busy", job.id)
        runner.start()
        lease_lost = self._supervise(ctx, runner)

        with log_context(job_id=job.id, correlation_id=job.correlation_id):
            if runner.is_alive():
                # Shutting down and out of grace: hand the job to another worker.
                queue.release(self.db, job.id, self.worker_id)
            elif lease_lost:
                self._after_lost_lease(job.id)
            elif "error" in outcome:
                self._record_failure(job, outcome["error"], outcome["trace"])
            else:
                try:
                    self._record_success(ctx, outcome.get("result"))
                except Exception as exc:
                    # The completing transaction rolled back; the job is still ours
                    # and running, so it fails this attempt like a handler error.
                    self._record_failure(job, exc, traceback.format_exc())
            logger.info(
                "job attempt ended",
                extra={"duration_s": round(time.monotonic() - started, 3)},
            )
        self._current = None
        self._beat("idle")

    def _supervise(self, ctx: JobContext, runner: threading.Thread) -> bool:
        """Heartbeat while the handler runs; return True when the lease was lost."""
        interval = max(self.settings.job_lease_seconds / 3, 0.05)
        grace_deadline: float | None = None
        while runner.is_alive():
            runner.join(timeout=interval)
            if not runner.is_alive():
                break
            if self._stopping.is_set():
                grace_deadline = grace_deadline or (
                    time.monotonic() + self.settings.worker_shutdown_grace_seconds
                )
                if time.monotonic() >= grace_deadline:
                    ctx.stop.set()
                    return False
            try:
                held = queue.heartbeat(
                    self.db,
                    ctx.job_id,
                    self.worker_id,
                    lease_seconds=self.settings.job_lease_seconds,
                    progress=ctx.take_progress(),
                )
            except DATABASE_UNAVAILABLE:
                # Let the handler go on; should the lease lapse meanwhile, the
                # fence on completion keeps the job from completing twice.
                logger.warning("job heartbeat failed; database unavailable")
                held = True
            self._beat("busy", ctx.job_id)
            if not held:
                ctx.stop.set()
                runner.join(timeout=self.settings.worker_shutdown_grace_seconds)
                return True

        return False

    def _record_success(self, ctx: JobContext, result: dict[str, Any] | None) -> None:
        """Complete the job and apply its deferred writes in one transaction."""
        with self.db.session() as session:
            if not queue.complete(session, ctx.job_id, self.worker_id, result):
                session.rollback()
                logger.warning("job finished after its lease was lost; result dropped")
                return
            ctx.run_deferred(session)
        self.jobs_done += 1
        logger.info("job succeeded")

    def _record_failure(self, job: Job, error: BaseException, trace: str) -> None:
        """Schedule a retry or dead-letter the job, keeping the error for operators."""
        retryable = (
            getattr(error, "retryable", True) if isinstance(error, JobError) else True
        )
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            queue.release(self.db, job.id, self.worker_id)
            return
        message = f"{type(error).__name__}: {error}"
        logger.warning("job handler raised", extra={"error_type": type(error).__name__})
        logger.debug("job handler traceback", extra={"trace": trace})
        queue.fail(
            self.db,
            job.id,
            self.worker_id,
            message,
            retryable=retryable,
            policy=self.policy,
        )

    def _after_lost_lease(self, job_id: int) -> None:
        """Settle a job whose heartbeat was refused: cancelled, or taken by another."""
        with self.db.read_session() as session:
            job = session.get(Job, job_id)
            cancelled = job is not None and job.cancel_requested
        if cancelled:
            queue.finish_cancelled(self.db, job_id, self.worker_id)
            logger.info("job cancelled while running")
        else:
            logger.warning("job lease lost; another worker may hold it")

    # --- liveness and duties --------------------------------------------------------

    def _run_duties(self) -> None:
        """Run the background duties, each isolated from the others' failures."""
        for duty in self.duties:
            try:
                duty(self)
            except Exception:
                logger.exception("worker duty failed", extra={"duty": duty.__name__})

    def _info(self) -> dict[str, Any]:
        """Collect what the info providers report."""
        info: dict[str, Any] = {"job_kinds": self.known_kinds}
        for name, provider in self.info_providers.items():
            try:
                info[name] = provider()
            except Exception as exc:
                info[name] = {"error": type(exc).__name__}

        return info

    def _beat(self, state: str, job_id: int | None = None) -> None:
        """Write this worker's heartbeat row."""
        now = utcnow()
        try:
            with self.db.session() as session:
                row = session.scalar(
                    select(WorkerHeartbeat).where(
                        WorkerHeartbeat.worker_id == self.worker_id
                    )
                )
                if row is None:
                    row = WorkerHeartbeat(
                        worker_id=self.worker_id,
                        hostname=socket.gethostname(),
                        pid=os.getpid(),
                        started_at=self._started_at,
                    )
                    session.add(row)
                row.last_seen_at = now
                row.state = state
                row.current_job_id = job_id
                row.jobs_done = self.jobs_done
                row.info = self._info()
        except Exception:
            # Liveness reporting must never take the worker down.
            logger.exception("worker heartbeat failed")
