"""Storage faults: full disks, a locked database, stopped workers, a restarted server.

Each test ends with the durable outcome checked in storage itself: every job that was
accepted completes exactly once (one effect row per job), a write that could not be
made fails with a clear error and leaves nothing half-written, and the similar-incident
index keeps serving its last whole generation.

A full disk is a real 1 MiB tmpfs where the test may mount one (root in CI); the
``simulated`` variants make the same fault without a mount (``ENOSPC`` from
``os.write`` under the index folder, SQLite's ``max_page_count`` for the database), so
the fault is proven wherever the suite runs.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from appliance.config import Settings, load_settings
from appliance.db import migrate
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent, Job, JobState
from appliance.jobs import queue
from appliance.jobs.worker import Worker
from appliance.retrieval.embedder import DIMENSION
from appliance.retrieval.index import IndexStore, IndexWriteError, VectorIndex
from tests.fakes.processes import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
PLUGINS = ["tests.fakes.jobs"]
PAD = "x" * 2000  # makes a job row big enough to fill a small disk quickly


# --- shared steps -------------------------------------------------------------------


def _wait(predicate: Callable[[], bool], timeout: float = 45.0) -> None:
    wait_until(predicate, timeout)


def _enqueue(db: Database, kind: str, payload: dict[str, Any] | None = None) -> int:
    with db.session() as session:
        job, _ = queue.enqueue(session, kind, payload or {})
        return job.id


def _states(db: Database) -> dict[int, JobState]:
    with db.read_session() as session:
        return dict(session.execute(select(Job.id, Job.state)).all())


def _effects_per_job(db: Database) -> dict[int, int]:
    """Return how many times each job's effect was committed."""
    with db.read_session() as session:
        rows = session.execute(
            select(AuditEvent.target, func.count())
            .where(AuditEvent.action == "test.effect")
            .group_by(AuditEvent.target)
        )
        return {int(str(target).removeprefix("job:")): n for target, n in rows}


def _assert_each_completed_once(db: Database, job_ids: list[int]) -> None:
    states = _states(db)
    assert {states[i] for i in job_ids} == {JobState.SUCCEEDED}
    assert _effects_per_job(db) == dict.fromkeys(job_ids, 1)


Starter = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def start_worker() -> Iterator[Starter]:
    """Start worker processes; kill those still running when the test ends."""
    started: list[subprocess.Popen[bytes]] = []

    def start(database_url: str, data_dir: str, *extra: str) -> subprocess.Popen[bytes]:
        started.append(_worker_process(database_url, data_dir, *extra))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _worker_process(
    database_url: str, data_dir: str, *extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "APPLIANCE_DATA_DIR": data_dir,
        "APPLIANCE_DATABASE_URL": database_url,
        "APPLIANCE_JOB_LEASE_SECONDS": "1.5",
        "APPLIANCE_WORKER_POLL_SECONDS": "0.1",
        "APPLIANCE_WORKER_SHUTDOWN_GRACE_SECONDS": "1",
        "APPLIANCE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "appliance.cli", "worker", "--import", *PLUGINS]
    return subprocess.Popen([*command, *extra], env=env, cwd=REPO)


# --- a small disk -------------------------------------------------------------------


@dataclasses.dataclass
class SmallDisk:
    """A folder on a 1 MiB tmpfs (``real``), or a plain folder for simulated faults."""

    path: Path
    real: bool

    @property
    def filler(self) -> Path:
        return self.path / "filler"

    def fill(self, leave: int = 0) -> None:
        """Fill the tmpfs so that about ``leave`` bytes stay free."""
        assert self.real
        stats = os.statvfs(self.path)
        size = max(stats.f_bavail * stats.f_frsize - leave, 0)
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, b"\0" * size)
            while not leave:  # top up to the last byte
                os.write(fd, b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def _mount_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return mounted.returncode == 0


@pytest.fixture(params=["tmpfs", "simulated"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallDisk]:
    """Give a 1 MiB tmpfs, or a plain folder where one cannot be mounted."""
    where = tmp_path / "disk"
    where.mkdir()
    real = request.param == "tmpfs" and _mount_tmpfs(where)
    yield SmallDisk(where, real)
    if real:
        subprocess.run(["umount", "-l", str(where)], check=True)


# --- 1. disk full while saving the similar-incident index ---------------------------


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _no_space_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``os.write`` fail with ENOSPC for files under ``folder``."""
    real_write = os.write

    def write(fd: int, data: Any) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_full_disk_keeps_the_last_index_generation_serving(
    small_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    store = IndexStore(small_disk.path / "index")
    first = VectorIndex.build(
        _unit_vectors(rng, 60),
        np.arange(1, 61),
        ["acme"] * 60,
        np.zeros(60),
        ann_threshold=1000,
        ef_search=16,
    )
    with store.writing():
        store.save(first)
    query = _unit_vectors(rng, 1)[0]
    before = store.load()
    assert before is not None
    served = before.search(query, 5)

    grown = store.load()
    assert grown is not None
    for row_id, vector in enumerate(_unit_vectors(rng, 10), start=61):
        grown.add(vector, row_id, "acme", 0.0)
    with monkeypatch.context() as patch:
        if small_disk.real:
            small_disk.fill(leave=16 * 1024)
        else:
            _no_space_under(store.folder, patch)
        with pytest.raises(IndexWriteError) as failed, store.writing():
            store.save(grown)

    assert failed.value.errno == errno.ENOSPC
    assert "generation 2 was not saved" in str(failed.value)
    assert "generation 1 stays current" in str(failed.value)
    assert store.pointer.read_text(encoding="utf-8") == "gen-1\n"
    names = {p.name for p in store.folder.iterdir()}
    assert names == {".lock", "CURRENT", "gen-1.faiss", "gen-1.npz"}
    after = store.load()
    assert after is not None and after.generation == 1 and len(after) == 60
    assert after.search(query, 5) == served

    small_disk.free()
    with store.writing():
        assert store.save(grown) == 2
    reloaded = store.load()
    assert reloaded is not None and len(reloaded) == 70 and 70 in reloaded


# --- 2. disk full while writing the database ----------------------------------------


@dataclasses.dataclass
class PageLimit:
    """SQLite's ``max_page_count`` on each pooled connection: a simulated full disk."""

    pages: int = 2**30

    def attach(self, db: Database) -> None:
        @event.listens_for(db.engine, "checkout")
        def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count = {self.pages}")
            cursor.close()

    def freeze(self, db: Database) -> None:
        with db.read_session() as session:
            self.pages = int(
                session.connection().exec_driver_sql("PRAGMA page_count").scalar_one()
            )


def test_full_disk_refuses_new_jobs_and_keeps_committed_ones(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "database_url": f"sqlite:///{small_disk.path / 'appliance.db'}",
            "log_level": "WARNING",
            "job_backoff_base_seconds": 0.05,
            "worker_poll_seconds": 0.05,
        },
        environ={},
    )
    db = Database(settings.resolved_database_url)
    limit = PageLimit()
    limit.attach(db)
    migrate.upgrade(db)
    accepted = [_enqueue(db, "test.effect", {"pad": PAD}) for _ in range(5)]

    if small_disk.real:
        small_disk.fill()
    else:
        limit.freeze(db)
    refused: OperationalError | None = None
    for _ in range(500):  # a few fit in space SQLite already holds
        try:
            accepted.append(_enqueue(db, "test.effect", {"pad": PAD}))
        except OperationalError as exc:
            refused = exc
            break

    assert refused is not None, "the full disk never refused a job"
    assert getattr(refused.orig, "sqlite_errorname", None) == "SQLITE_FULL"
    assert "database or disk is full" in str(refused)
    assert sorted(_states(db)) == accepted
    assert set(_states(db).values()) == {JobState.QUEUED}

    small_disk.free()
    limit.pages = 2**30
    accepted.append(_enqueue(db, "test.effect", {"pad": PAD}))
    Worker(db, settings, extra_modules=PLUGINS).run(idle_exit=True)

    _assert_each_completed_once(db, accepted)
    with db.read_session() as session:
        check = session.connection().exec_driver_sql("PRAGMA integrity_check")
        assert check.scalar_one() == "ok"
    db.dispose()


# --- 3. the database locked by another connection -----------------------------------


def _sqlite_path(db: Database) -> str:
    assert db.url.database
    return db.url.database


def test_locked_database_delays_claims_and_completion_without_losing_jobs(
    db: Database, settings: Settings
) -> None:
    sleeper = _enqueue(db, "test.sleep", {"seconds": 0.3})
    quick = [_enqueue(db, "test.effect") for _ in range(3)]
    worker = Worker(db, settings, extra_modules=PLUGINS)
    thread = threading.Thread(target=worker.run, kwargs={"idle_exit": True})
    thread.start()
    # An operator's shell (or a backup) holding the write lock for two seconds: the
    # handler finishes meanwhile, but its completion has to wait for the lock.
    locker = sqlite3.connect(_sqlite_path(db), timeout=30, isolation_level=None)
    try:
        _wait(lambda: _states(db)[sleeper] == JobState.RUNNING)
        locker.execute("BEGIN IMMEDIATE")
        locker.execute("UPDATE job SET priority = priority WHERE id = ?", (sleeper,))
        time.sleep(2.0)
        assert _states(db)[sleeper] == JobState.RUNNING
        assert thread.is_alive()
        locker.execute("COMMIT")
        thread.join(timeout=45)
    finally:
        locker.close()
        worker.stop()
        thread.join(timeout=45)

    assert not thread.is_alive()
    _assert_each_completed_once(db, [sleeper, *quick])
    with db.read_session() as session:
        attempts = session.scalars(select(Job.attempts)).all()
    assert set(attempts) == {1}


def test_long_reader_does_not_block_the_queue(db: Database, settings: Settings) -> None:
    job_ids = [_enqueue(db, "test.effect") for _ in range(5)]
    reader = sqlite3.connect(_sqlite_path(db), timeout=30, isolation_level=None)
    reader.execute("BEGIN")
    queued = "SELECT count(*) FROM job WHERE state = 'queued'"
    assert reader.execute(queued).fetchone() == (5,)

    ran = Worker(db, settings, extra_modules=PLUGINS).run(idle_exit=True)

    assert ran == 5
    assert reader.execute(queued).fetchone() == (5,)  # its snapshot is unchanged
    reader.execute("COMMIT")
    reader.close()
    _assert_each_completed_once(db, job_ids)


# --- 4. every worker stopped and started again --------------------------------------


def test_all_workers_stopped_and_restarted_complete_every_job_once(
    any_db: Database, any_settings: Settings, tmp_path: Path, start_worker: Starter
) -> None:
    url, data_dir = any_settings.resolved_database_url, any_settings.data_dir
    long = [
        _enqueue(any_db, "test.sleep", {"seconds": 30, "once": str(tmp_path / f"s{n}")})
        for n in range(2)
    ]
    before = [_enqueue(any_db, "test.effect") for _ in range(10)]
    workers = [start_worker(url, data_dir) for _ in range(2)]
    _wait(lambda: all(_states(any_db)[i] == JobState.RUNNING for i in long))

    for process in workers:
        process.send_signal(signal.SIGTERM)
    during = [_enqueue(any_db, "test.effect") for _ in range(10)]
    for process in workers:
        assert process.wait(timeout=30) == 0
    stopped = _states(any_db)
    assert JobState.RUNNING not in stopped.values()
    assert {stopped[i] for i in long} == {JobState.QUEUED}  # released, not lost

    after = [_enqueue(any_db, "test.effect") for _ in range(5)]
    workers = [start_worker(url, data_dir, "--idle-exit") for _ in range(2)]
    for process in workers:
        assert process.wait(timeout=45) == 0

    _assert_each_completed_once(any_db, [*long, *before, *during, *after])


# --- 5. PostgreSQL restarted under load ---------------------------------------------


@dataclasses.dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of this test's own, started by scripts/postgres."""

    url: str
    data: Path
    bindir: Path

    def pg_ctl(self, *args: str) -> None:
        # With a log file the server does not hold on to this process's pipes.
        log = str(self.data / "server.log")
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", log, *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """Start a PostgreSQL server on a free port; stop and remove it afterwards."""
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bindirs:
        pytest.skip("PostgreSQL is not installed (scripts/postgres installs it)")
    # Under /tmp itself: the postgres user cannot enter pytest's root-only folders.
    data = Path("/tmp") / f"appliance-fault-pg-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "APPLIANCE_TEST_PGPORT": str(free_port()),
        "APPLIANCE_TEST_PGDATA": str(data),
    }
    started = subprocess.run(
        [str(REPO / "scripts" / "postgres")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    server = ThrowawayPostgres(started.stdout.strip(), data, bindirs[-1])
    yield server
    server.pg_ctl("stop", "-m", "immediate", "-w")
    shutil.rmtree(data, ignore_errors=True)


@pytest.mark.postgres
def test_postgres_restart_under_load_completes_every_job_once(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path, start_worker: Starter
) -> None:
    db = Database(throwaway_postgres.url)
    migrate.upgrade(db)
    job_ids = [_enqueue(db, "test.sleep", {"seconds": 0.1}) for _ in range(40)]
    worker = start_worker(throwaway_postgres.url, str(tmp_path / "data"))
    _wait(lambda: list(_states(db).values()).count(JobState.SUCCEEDED) >= 5)

    throwaway_postgres.pg_ctl("restart", "-m", "fast", "-w")
    db.dispose()  # the test's own pooled connections died with the server
    job_ids += [_enqueue(db, "test.effect") for _ in range(10)]
    _wait(lambda: set(_states(db).values()) == {JobState.SUCCEEDED}, timeout=50)

    assert worker.poll() is None, "the worker died with its connections"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    _assert_each_completed_once(db, job_ids)
    db.dispose()
