"""Benchmark the durable job queue: enqueue, claim and complete rates.

Runs on SQLite and, when APPLIANCE_TEST_POSTGRES_URL (or --postgres) names a server,
on PostgreSQL, with 1 and 4 worker processes draining the same queue.

    .venv/bin/python scripts/bench/bench_queue.py --jobs 2000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from appliance.db import migrate  # noqa: E402
from appliance.db.engine import Database  # noqa: E402
from appliance.jobs import queue  # noqa: E402


def _enqueue(url: str, jobs: int) -> float:
    db = Database(url)
    start = time.perf_counter()
    batch = 100
    for first in range(0, jobs, batch):
        with db.session() as session:
            for n in range(first, min(first + batch, jobs)):
                queue.enqueue(session, "bench.noop", {"n": n})
    elapsed = time.perf_counter() - start
    db.dispose()
    return elapsed


def _drain(url: str, worker_id: str, counter: multiprocessing.Value) -> None:
    """Claim and complete jobs one at a time until none are left."""
    db = Database(url)
    while True:
        job = queue.claim(db, worker_id, lease_seconds=60)
        if job is None:
            break
        with db.session() as session:
            queue.complete(session, job.id, worker_id, {"ok": True})
        with counter.get_lock():
            counter.value += 1
    db.dispose()


def _run(url: str, jobs: int, workers: int) -> dict[str, float]:
    enqueue_s = _enqueue(url, jobs)
    counter = multiprocessing.Value("i", 0)
    processes = [
        multiprocessing.Process(target=_drain, args=(url, f"bench-{i}", counter))
        for i in range(workers)
    ]
    start = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    drain_s = time.perf_counter() - start
    assert counter.value == jobs, f"{counter.value} of {jobs} jobs completed"
    return {
        "jobs": jobs,
        "workers": workers,
        "enqueued_per_s": round(jobs / enqueue_s, 1),
        "claimed_and_completed_per_s": round(jobs / drain_s, 1),
    }


def _fresh_sqlite() -> str:
    path = Path(tempfile.mkdtemp(prefix="bench-queue-")) / "queue.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(Database(url))
    return url


def _fresh_postgres(server: str) -> tuple[str, str]:
    base = make_url(server)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(Database(url))
    return url, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument(
        "--postgres", default=os.environ.get("APPLIANCE_TEST_POSTGRES_URL")
    )
    args = parser.parse_args()

    bench = Bench("queue")
    for workers in (1, 4):
        bench.record(
            f"sqlite_{workers}_workers", _run(_fresh_sqlite(), args.jobs, workers)
        )
    if args.postgres:
        for workers in (1, 4):
            url, _ = _fresh_postgres(args.postgres)
            bench.record(f"postgres_{workers}_workers", _run(url, args.jobs, workers))
    else:
        bench.record("postgres", "skipped: no server given")
    bench.report()


if __name__ == "__main__":
    main()
