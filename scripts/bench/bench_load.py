"""Load the whole appliance end to end and find the knee.

Serves an XDR sandbox tenant in this process, starts `appliance serve` (gunicorn)
and `appliance worker` processes on loopback against SQLite (or a fresh database on
PostgreSQL with --pg), and drives them with locust, headless, in a separate process:
signed webhooks plus API reads at rising user counts, each step bounded in time.
Every webhook names a sandbox incident at a fresh modification time, so each
accepted webhook is one ingest job; the workers fetch the incident, analyze it and
write the labelled results back to the sandbox through the outbox.

For each step it prints accepted requests a second, p50/p99 latency, errors and the
incidents processed end to end (ingested and written back); then it lets the queue
drain and checks durability: no accepted webhook without its ingest job, every
analyzed incident's write-backs acknowledged, and no write-back posted twice (the
sandbox counts writes per incident). The knee is the last step before accepted
requests a second stop growing by 10 %.

    .venv/bin/python scripts/bench/bench_load.py --users 5,10,20,40,80 --seconds 20
    .venv/bin/python scripts/bench/bench_load.py --pg "$(scripts/postgres)"

The model is left out by default (``--model none``: every task gives its
deterministic result), so the figures measure the appliance rather than the model;
``--model smollm2-135m-instruct`` runs the tiny model in the workers.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from harness import Bench  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from appliance.auth import api_keys  # noqa: E402
from appliance.auth.roles import Role  # noqa: E402
from appliance.config import load_settings  # noqa: E402
from appliance.db import migrate  # noqa: E402
from appliance.db.engine import Database  # noqa: E402
from appliance.db.tables import Job, JobState, WorkerHeartbeat  # noqa: E402
from appliance.xdr.ingest import ANALYZE_KIND, INGEST_KIND  # noqa: E402
from appliance.xdr.sandbox import SandboxApp, SandboxServer  # noqa: E402
from appliance.xdr.sandbox_tenant import SandboxTenant  # noqa: E402
from appliance.xdr.tables import OutboxEntry, OutboxState  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV_BIN = Path(sys.executable).parent
SECRET = "bench-load-webhook-secret"
KEY_ID = "bench-load"
FIRST_INCIDENT = 1000
UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
PENDING_WRITES = (OutboxState.QUEUED, OutboxState.SENDING)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Rig:
    """A running appliance (web and workers) with its XDR sandbox."""

    base: str
    api_key: str
    db: Database
    tenant: SandboxTenant
    incidents: int
    data_dir: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def alive(self) -> dict[str, bool]:
        """Say which of the appliance's processes still run."""
        return {name: p.poll() is None for name, p in self.processes.items()}


@contextmanager
def _database(pg_url: str | None, data_dir: str) -> Iterator[str]:
    """Yield the database URL of this run: SQLite, or a fresh PostgreSQL database."""
    if not pg_url:
        yield f"sqlite:///{data_dir}/appliance.db"
        return
    url = make_url(pg_url)
    name = f"bench_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def running_rig(
    *,
    workers: int = 2,
    web_workers: int = 2,
    incidents: int = 200,
    pg_url: str | None = None,
    model: str = "none",
    data_dir: str | None = None,
) -> Iterator[Rig]:
    """Start the sandbox, the web service and the workers; stop them afterwards."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="bench-load-")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the sandbox's access log
    tenant = SandboxTenant()
    key = uuid.uuid4().hex * 2
    tenant.add_key(KEY_ID, key, "advanced")
    tenant.add_copies(incidents, first_id=FIRST_INCIDENT)
    # No rate limits: the load is the appliance's, not a tenant's quota.
    sandbox = SandboxServer(SandboxApp(tenant, extra_data_per_minute=None)).start()
    port = _free_port()
    with _database(pg_url, data_dir) as database_url:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("APPLIANCE_") or k.startswith("APPLIANCE_TEST_")
        }
        env.update(
            APPLIANCE_DATA_DIR=data_dir,
            APPLIANCE_DATABASE_URL=database_url,
            APPLIANCE_BIND=f"127.0.0.1:{port}",
            APPLIANCE_WEB_WORKERS=str(web_workers),
            APPLIANCE_WEBHOOK_SECRET=SECRET,
            APPLIANCE_LOG_LEVEL="ERROR",
            APPLIANCE_ROLLOUT_PHASE="suggest",
            APPLIANCE_XDR_BASE_URL=sandbox.url,
            APPLIANCE_XDR_API_KEY_ID=KEY_ID,
            APPLIANCE_XDR_API_KEY=key,
            APPLIANCE_XDR_REQUESTS_PER_SECOND="1000",
            APPLIANCE_XDR_EXTRA_DATA_PER_MINUTE="100000",
            APPLIANCE_WORKER_POLL_SECONDS="0.1",
            APPLIANCE_LLM_THREADS="1",
            # A name no manifest has: the tasks give their deterministic results.
            APPLIANCE_LLM_MODEL=model if model != "none" else "no-model-for-load",
        )
        settings = load_settings(
            {"data_dir": data_dir, "database_url": database_url}, environ={}
        )
        db = Database(settings.resolved_database_url)
        migrate.upgrade(db)
        with db.session() as session:
            _, api_key = api_keys.create_key(
                session,
                settings,
                name="load",
                role=Role.VIEWER,
                scopes=["jobs", "approvals"],
                actor="bench",
            )
        exe = str(VENV_BIN / "appliance")
        rig = Rig(f"http://127.0.0.1:{port}", api_key, db, tenant, incidents, data_dir)
        commands = {"web": "serve", **{f"worker-{n}": "worker" for n in range(workers)}}
        for name, command in commands.items():
            log = open(Path(data_dir) / f"{name}.log", "wb")  # noqa: SIM115
            rig.processes[name] = subprocess.Popen(
                [exe, command], env=env, cwd=REPO, stdout=log, stderr=log
            )
            log.close()
        try:
            _wait_ready(rig, workers, 90)
            yield rig
        finally:
            for process in rig.processes.values():
                process.terminate()
            for process in rig.processes.values():
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
            db.dispose()
            sandbox.stop()


def _wait_ready(rig: Rig, workers: int, seconds: float) -> None:
    """Wait until the web service answers and every worker has reported in."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with rig.db.read_session() as session:
            beating = session.scalar(select(func.count()).select_from(WorkerHeartbeat))
        try:
            up = httpx.get(f"{rig.base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            up = False
        if up and beating >= workers:
            return
        time.sleep(0.3)
    raise RuntimeError(f"the appliance did not come up; logs in {rig.data_dir}")


def run_step(
    rig: Rig, users: int, seconds: float, sequence_base: int
) -> dict[str, Any]:
    """Run locust at ``users`` users for ``seconds``; return the step's figures."""
    out = Path(rig.data_dir) / f"step-{users}-{sequence_base}"
    env = dict(
        os.environ,
        LOAD_WEBHOOK_SECRET=SECRET,
        LOAD_API_KEY=rig.api_key,
        LOAD_INCIDENTS=f"{FIRST_INCIDENT}:{rig.incidents}",
        LOAD_SEQUENCE_BASE=str(sequence_base),
        LOAD_STATUS_FILE=f"{out}-status.json",
    )
    before = processed(rig)
    started = time.monotonic()
    subprocess.run(
        [
            str(VENV_BIN / "locust"),
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--host",
            rig.base,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds:g}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env=env,
        cwd=HERE,
        check=False,
        timeout=seconds + 60,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    after = processed(rig)
    with open(f"{out}_stats.csv", encoding="utf-8") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows["Aggregated"]
    replies = json.loads(Path(f"{out}-status.json").read_text())
    statuses: dict[str, int] = replies["statuses"]
    errors = {k: v for k, v in statuses.items() if not k.split()[1].startswith("2")}

    return {
        "users": users,
        "requests": int(total["Request Count"]),
        "accepted_per_s": round(float(total["Requests/s"]), 1),
        "webhooks_accepted": len(replies["accepted_job_ids"]),
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
        "errors": errors,
        "server_errors": sum(
            n for k, n in statuses.items() if k.split()[1].startswith("5")
        ),
        "incidents_processed": after - before,
        "incidents_processed_per_s": round((after - before) / wall, 2),
        "accepted_job_ids": replies["accepted_job_ids"],
    }


def processed(rig: Rig) -> int:
    """Count the incidents ingested and written back to the sandbox so far."""
    with rig.tenant.lock:
        return sum(1 for n in rig.tenant.writes.values() if n)


def drain(rig: Rig, seconds: float) -> float:
    """Wait until no job and no write-back is pending; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with rig.db.read_session() as session:
            jobs = session.scalar(
                select(func.count()).select_from(Job).where(Job.state.in_(UNFINISHED))
            )
            writes = session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state.in_(PENDING_WRITES))
            )
        if not jobs and not writes:
            break
        time.sleep(0.25)

    return round(time.monotonic() - started, 1)


def durability(rig: Rig, accepted_job_ids: set[int]) -> dict[str, Any]:
    """Compare what locust had accepted, what the queue holds and what XDR got."""
    with rig.db.read_session() as session:
        stored = set(
            session.scalars(select(Job.id).where(Job.kind == INGEST_KIND)).all()
        )
        ingest = dict(
            session.execute(
                select(Job.state, func.count())
                .where(Job.kind == INGEST_KIND)
                .group_by(Job.state)
            ).all()
        )
        analyze = dict(
            session.execute(
                select(Job.state, func.count())
                .where(Job.kind == ANALYZE_KIND)
                .group_by(Job.state)
            ).all()
        )
        sent = dict(
            session.execute(
                select(OutboxEntry.incident_id, func.count())
                .where(OutboxEntry.state == OutboxState.SENT)
                .group_by(OutboxEntry.incident_id)
            ).all()
        )
        pending = session.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.state.in_(PENDING_WRITES))
        )
    with rig.tenant.lock:
        writes = {k: n for k, n in rig.tenant.writes.items() if n}

    return {
        "webhooks_accepted": len(accepted_job_ids),
        "ingest_jobs": len(stored),
        "lost": len(accepted_job_ids - stored),
        "ingest_states": {str(k): v for k, v in ingest.items()},
        "analyze_states": {str(k): v for k, v in analyze.items()},
        "incidents_written_back": len(writes),
        "write_backs_pending": pending,
        # A write XDR received that the outbox does not hold as sent once, or the
        # reverse: each is a duplicate or a lost write-back.
        "write_back_mismatches": sorted(
            i for i in set(writes) | set(sent) if writes.get(i, 0) != sent.get(i, 0)
        ),
    }


def knee(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the last step before throughput stops growing by 10 %."""
    for previous, step in zip(steps, steps[1:], strict=False):
        if step["accepted_per_s"] < previous["accepted_per_s"] * 1.1:
            return {
                "users": previous["users"],
                "accepted_per_s": previous["accepted_per_s"],
                "p99_ms": previous["p99_ms"],
                "next_step_p99_ms": step["p99_ms"],
            }
    return {"users": None, "note": "not reached; add higher --users steps"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="5,10,20,40,80")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--drain-seconds", type=float, default=180.0)
    parser.add_argument("--model", default="none")
    parser.add_argument(
        "--pg",
        default=os.environ.get("APPLIANCE_TEST_POSTGRES_URL") or None,
        help="PostgreSQL server URL (default APPLIANCE_TEST_POSTGRES_URL); "
        "a fresh database is made there and dropped afterwards.",
    )
    parser.add_argument("--sqlite", action="store_true", help="Ignore --pg.")
    args = parser.parse_args()
    pg_url = None if args.sqlite else args.pg

    bench = Bench("load")
    bench.record(
        "setup",
        {
            "database": "postgresql" if pg_url else "sqlite",
            "workers": args.workers,
            "web_workers": args.web_workers,
            "model": args.model,
            "step_seconds": args.seconds,
        },
    )
    steps = []
    accepted: set[int] = set()
    with running_rig(
        workers=args.workers,
        web_workers=args.web_workers,
        incidents=args.incidents,
        pg_url=pg_url,
        model=args.model,
    ) as rig:
        for n, users in enumerate(int(u) for u in args.users.split(",")):
            steps.append(run_step(rig, users, args.seconds, n * 10_000_000))
            accepted.update(steps[-1].pop("accepted_job_ids"))
            print(json.dumps(steps[-1]), file=sys.stderr)
        drained = drain(rig, args.drain_seconds)
        bench.record("steps", steps)
        bench.record("knee", knee(steps))
        bench.record("drain_seconds", drained)
        bench.record("durability", durability(rig, accepted))
        bench.record("processes_alive", rig.alive())
    bench.report()


if __name__ == "__main__":
    main()
