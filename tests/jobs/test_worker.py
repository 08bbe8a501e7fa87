import dataclasses
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from appliance.db.tables import AuditEvent, Job, JobState, WorkerHeartbeat
from appliance.governance import audit
from appliance.jobs import queue
from appliance.jobs.worker import Worker
from tests.fakes.processes import wait_until

REPO = Path(__file__).resolve().parents[2]
PLUGINS = ["tests.fakes.jobs"]


def _enqueue(db, kind, payload=None, **kwargs) -> int:
    with db.session() as session:
        job, _ = queue.enqueue(session, kind, payload or {}, **kwargs)
        return job.id


def _job(db, job_id) -> Job:
    with db.read_session() as session:
        return session.get(Job, job_id)


def _effects(db) -> int:
    with db.read_session() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "test.effect")
        )


def _wait(predicate, timeout=120.0):
    wait_until(predicate, timeout)


def test_worker_runs_the_selftest_and_reports_liveness(db, settings):
    job_id = _enqueue(db, "system.selftest")
    worker = Worker(db, settings)

    ran = worker.run(idle_exit=True)

    job = _job(db, job_id)
    assert ran == 1
    assert job.state == JobState.SUCCEEDED
    assert job.result["schema_current"] is True
    with db.read_session() as session:
        beat = session.get(WorkerHeartbeat, worker.worker_id)
        assert beat.jobs_done == 1 and beat.state == "stopped"
        assert audit.verify(session) == []


def test_failing_job_is_retried_then_succeeds(db, settings):
    job_id = _enqueue(db, "test.fail", {"failures": 2})
    worker = Worker(db, settings, extra_modules=PLUGINS)

    _wait(
        lambda: (
            worker.run(idle_exit=True) == 0 and _job(db, job_id).state in queue.TERMINAL
        )
    )

    job = _job(db, job_id)
    assert job.state == JobState.SUCCEEDED and job.attempts == 3
    assert _effects(db) == 1


def test_permanent_failure_dead_letters_with_the_error(db, settings):
    job_id = _enqueue(db, "test.fail", {"permanent": True})

    Worker(db, settings, extra_modules=PLUGINS).run(idle_exit=True)

    job = _job(db, job_id)
    assert job.state == JobState.DEAD and job.attempts == 1
    assert "cannot be processed" in job.last_error


def test_unknown_kind_dead_letters_and_names_the_known_kinds(db, settings):
    job_id = _enqueue(db, "no.such.kind")

    Worker(db, settings).run(idle_exit=True)

    job = _job(db, job_id)
    assert job.state == JobState.DEAD
    assert "no handler for job kind 'no.such.kind'" in job.last_error
    assert "system.selftest" in job.last_error


def test_cancelling_a_running_job_stops_it(db, settings):
    settings = dataclasses.replace(settings, job_lease_seconds=0.3)
    job_id = _enqueue(db, "test.sleep", {"seconds": 20})
    worker = Worker(db, settings, extra_modules=PLUGINS)
    thread = threading.Thread(target=worker.run, kwargs={"max_jobs": 1})
    thread.start()
    _wait(lambda: _job(db, job_id).state == JobState.RUNNING)

    queue.cancel(db, job_id)
    thread.join(timeout=15)

    assert not thread.is_alive()
    assert _job(db, job_id).state == JobState.CANCELLED
    assert _effects(db) == 0


def _start_worker(settings, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "APPLIANCE_DATA_DIR": settings.data_dir,
        "APPLIANCE_DATABASE_URL": settings.resolved_database_url,
        "APPLIANCE_JOB_LEASE_SECONDS": "1.5",
        "APPLIANCE_WORKER_POLL_SECONDS": "0.1",
        "APPLIANCE_WORKER_SHUTDOWN_GRACE_SECONDS": "1",
        "APPLIANCE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    command = [
        sys.executable,
        "-m",
        "appliance.cli",
        "worker",
        "--import",
        PLUGINS[0],
        *extra,
    ]
    return subprocess.Popen(command, env=env, cwd=REPO)


def test_sigkill_mid_job_loses_nothing_and_completes_once(any_db, any_settings):
    job_id = _enqueue(any_db, "test.sleep", {"seconds": 60})
    victim = _start_worker(any_settings)
    _wait(lambda: _job(any_db, job_id).state == JobState.RUNNING)

    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    survivor = _start_worker(any_settings, "--max-jobs", "1")
    _wait(lambda: _job(any_db, job_id).state in queue.TERMINAL)
    survivor.wait(timeout=30)

    job = _job(any_db, job_id)
    assert job.state == JobState.SUCCEEDED
    assert job.attempts == 2
    assert _effects(any_db) == 1


def test_sigterm_releases_an_unfinished_job_for_another_worker(
    any_db, any_settings, tmp_path
):
    once = str(tmp_path / "slept")
    job_id = _enqueue(any_db, "test.sleep", {"seconds": 60, "once": once})
    first = _start_worker(any_settings)
    _wait(lambda: _job(any_db, job_id).state == JobState.RUNNING)

    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0

    released = _job(any_db, job_id)
    assert released.state == JobState.QUEUED and released.attempts == 0
    second = _start_worker(any_settings, "--idle-exit")
    assert second.wait(timeout=30) == 0
    assert _job(any_db, job_id).state == JobState.SUCCEEDED


@pytest.mark.parametrize("any_settings", ["postgres"], indirect=True)
def test_several_workers_on_postgres_never_run_a_job_twice(any_db, any_settings):
    job_ids = [_enqueue(any_db, "test.effect") for _ in range(120)]
    workers = [_start_worker(any_settings, "--idle-exit") for _ in range(4)]

    for process in workers:
        assert process.wait(timeout=120) == 0

    with any_db.read_session() as session:
        states = session.scalars(select(Job.state).where(Job.id.in_(job_ids))).all()
        attempts = session.scalars(
            select(Job.attempts).where(Job.id.in_(job_ids))
        ).all()
    assert set(states) == {JobState.SUCCEEDED}
    assert set(attempts) == {1}
    assert _effects(any_db) == 120
