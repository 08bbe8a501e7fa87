"""Benchmark scale-out: several API and worker processes on one PostgreSQL.

For each layout (API processes x worker processes) it makes a fresh database, starts
that many `appliance serve` processes (each its own gunicorn, on its own port, as
separate nodes would be) and `appliance worker` processes, then at once:

- sends signed webhooks to the API processes in turn from a separate process
  (closed loop, ``--threads`` at a time, ``--seconds`` long) and counts those
  accepted, their latency, and that each left its ingest job in the database;
- enqueues ``--jobs`` jobs whose handler waits as long as a model call would
  (``--model-ms``) and times the workers draining them: jobs an hour, and the
  efficiency against perfect scaling (workers x 3600 / model time).

With the model time standing in for the model, the figures show what the web
processes, the queue, leases and the database cost as processes are added; the
model's own speed comes from bench_llm.py and bench_triage.py.

    .venv/bin/python scripts/bench/bench_scaleout.py --postgres "$(scripts/postgres)" \
        --layouts 1x1,1x4,2x4,2x8
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from bench_webhook import free_port, post_webhook  # noqa: E402
from harness import Bench, percentiles  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from appliance.db import migrate  # noqa: E402
from appliance.db.engine import Database  # noqa: E402
from appliance.db.tables import Job, JobState, WorkerHeartbeat  # noqa: E402
from appliance.jobs import queue  # noqa: E402
from appliance.xdr.ingest import INGEST_KIND  # noqa: E402

SECRET = "bench-scaleout-secret"
MODEL_KIND = "bench.model_call"


def _fresh_database(server: str) -> tuple[str, str]:
    base = make_url(server)
    name = f"bench_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    return url, name


def _drop(server: str, name: str) -> None:
    admin = create_engine(
        make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _send_webhooks(bases: list[str], seconds: float, threads: int, out: str) -> None:
    """Send signed webhooks to the API processes in turn; write what came back."""
    clients = [httpx.Client(base_url=b, timeout=10.0) for b in bases]
    latencies: list[float] = []
    accepted: list[int] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))
    stop_at = time.perf_counter() + seconds

    def loop() -> None:
        while time.perf_counter() < stop_at:
            with lock:
                n = next(counter)
            status, job_id, elapsed = post_webhook(
                clients[n % len(clients)], SECRET, n, str(n + 1)
            )
            with lock:
                if job_id is None:
                    errors[status] = errors.get(status, 0) + 1
                else:
                    accepted.append(int(job_id))
                    latencies.append(elapsed)

    started = time.perf_counter()
    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    Path(out).write_text(
        json.dumps(
            {
                "accepted": len(accepted),
                "accepted_per_s": round(len(accepted) / wall, 1),
                "errors": errors,
                **percentiles(latencies),
                "job_ids": accepted,
            }
        )
    )


def _wait_until_up(db: Database, bases: list[str], workers: int) -> None:
    """Wait for every API process's /healthz and every worker's heartbeat."""
    deadline = time.monotonic() + 180
    waiting = set(bases)
    while time.monotonic() < deadline:
        for base in list(waiting):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    waiting.discard(base)
            except httpx.HTTPError:
                pass
        with db.read_session() as session:
            seen = session.scalar(select(func.count(WorkerHeartbeat.worker_id))) or 0
        if not waiting and seen >= workers:
            return
        time.sleep(0.3)
    raise SystemExit("the API or worker processes did not come up")


def _run(server: str, apis: int, workers: int, args: argparse.Namespace) -> dict:
    url, name = _fresh_database(server)
    db = Database(url)
    data_dir = Path(f"/tmp/{name}")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")} | {
        "APPLIANCE_DATABASE_URL": url,
        "APPLIANCE_DATA_DIR": str(data_dir),
        "APPLIANCE_WORKER_POLL_SECONDS": "0.05",
        "APPLIANCE_WEB_WORKERS": str(args.web_workers),
        "APPLIANCE_WEBHOOK_SECRET": SECRET,
        "APPLIANCE_LOG_LEVEL": "WARNING",
        "APPLIANCE_SECRET_KEY": "bench-only-secret-key",
        "PYTHONPATH": str(HERE),
    }
    exe = str(Path(sys.executable).with_name("appliance"))
    bases = [f"http://127.0.0.1:{free_port()}" for _ in range(apis)]
    processes = [
        subprocess.Popen(
            [exe, "serve", "--bind", base.removeprefix("http://")],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for base in bases
    ] + [
        subprocess.Popen(
            [exe, "worker", "--import", "scaleout_jobs", "--kind", MODEL_KIND],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        _wait_until_up(db, bases, workers)
        out = str(data_dir / "webhooks.json")
        sender = multiprocessing.get_context("spawn").Process(
            target=_send_webhooks, args=(bases, args.seconds, args.threads, out)
        )
        start = time.perf_counter()
        sender.start()
        with db.session() as session:
            for n in range(args.jobs):
                queue.enqueue(session, MODEL_KIND, {"ms": args.model_ms, "n": n})
        while True:
            with db.read_session() as session:
                done = session.scalar(
                    select(func.count(Job.id)).where(Job.state == JobState.SUCCEEDED)
                )
            if done == args.jobs:
                break
            if time.perf_counter() - start > 600:
                raise SystemExit("the workers did not drain the jobs in 10 minutes")
            time.sleep(0.05)
        drained = time.perf_counter() - start
        sender.join(timeout=args.seconds + 60)
        if sender.exitcode != 0:
            raise SystemExit(f"the webhook sender failed ({sender.exitcode})")
        webhooks = json.loads(Path(out).read_text())
        with db.read_session() as session:
            stored = set(
                session.scalars(select(Job.id).where(Job.kind == INGEST_KIND)).all()
            )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        db.dispose()
        _drop(server, name)
    accepted = set(webhooks.pop("job_ids"))
    per_hour = args.jobs / drained * 3600
    ideal = workers * 3600 / (args.model_ms / 1000)
    return {
        "api_processes": apis,
        "workers": workers,
        "webhooks": webhooks | {"lost": len(accepted - stored)},
        "model_jobs": {
            "jobs": args.jobs,
            "model_ms": args.model_ms,
            "seconds": round(drained, 2),
            "jobs_per_hour": round(per_hour),
            "efficiency": round(per_hour / ideal, 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layouts", default="1x1,1x4,2x4,2x8")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--model-ms", type=float, default=250.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument(
        "--postgres", default=os.environ.get("APPLIANCE_TEST_POSTGRES_URL")
    )
    args = parser.parse_args()
    bench = Bench("scaleout")
    if not args.postgres:
        raise SystemExit("give --postgres (the URL scripts/postgres prints)")
    bench.record("database", "postgresql")
    bench.record("web_workers_per_api_process", args.web_workers)
    for layout in args.layouts.split(","):
        apis, workers = (int(n) for n in layout.split("x"))
        bench.record(
            f"{apis}_api_{workers}_workers", _run(args.postgres, apis, workers, args)
        )
    bench.report()


if __name__ == "__main__":
    main()
