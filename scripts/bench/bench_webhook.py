"""Benchmark the XDR connector webhook against a real `appliance serve`.

Starts `appliance serve` (gunicorn, SQLite in a temporary data directory) on a free
loopback port, then sends signed webhooks from a separate process at rising rates
(open loop: requests leave on schedule whatever the replies do). For each rate it
reports accepted requests a second and p50/p99 latency, then checks that every
accepted request left exactly one ingest job in the database: none lost.

    .venv/bin/python scripts/bench/bench_webhook.py --rates 50,100,200,400 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from harness import Bench, percentiles  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from appliance.config import load_settings  # noqa: E402
from appliance.db.engine import Database  # noqa: E402
from appliance.db.tables import Job  # noqa: E402
from appliance.intake.signature import sign  # noqa: E402
from appliance.xdr.ingest import INGEST_KIND  # noqa: E402

SECRET = "bench-webhook-secret"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_webhook(
    client: httpx.Client, secret: str, n: int, incident_id: str
) -> tuple[str, int | None, float]:
    """Send one signed webhook; return the status, the job id if accepted, seconds."""
    body = json.dumps(
        {"incident_id": incident_id, "modification_time": 1_700_000_000_000 + n}
    ).encode()
    stamp = str(int(time.time()))
    sent = time.perf_counter()
    try:
        response = client.post(
            "/api/v1/webhooks/xdr",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Appliance-Timestamp": stamp,
                "X-Appliance-Signature": sign(secret, stamp, body),
            },
        )
        status = str(response.status_code)
        job_id = response.json().get("job_id") if status == "202" else None
    except httpx.HTTPError as exc:
        status, job_id = type(exc).__name__, None

    return status, job_id, time.perf_counter() - sent


def _send_step(
    base: str, rate: float, seconds: float, first_id: int, threads: int
) -> dict[str, object]:
    """Send ``rate`` webhooks a second for ``seconds``; return what came back."""
    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    client = httpx.Client(base_url=base, timeout=10.0, limits=limits)
    latencies: list[float] = []
    accepted: list[int] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def one(n: int) -> None:
        due = start + n / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        status, job_id, elapsed = post_webhook(client, SECRET, n, str(first_id + n))
        with lock:
            if job_id is not None:
                accepted.append(int(job_id))
                latencies.append(elapsed)
            else:
                errors[status] = errors.get(status, 0) + 1

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - start
    client.close()

    return {
        "offered_per_s": rate,
        "sent": total,
        "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / wall, 1),
        "errors": errors,
        **percentiles(latencies),
        "job_ids": accepted,
    }


def _load_process(
    base: str, rates: list[float], seconds: float, threads: int, out: str
) -> None:
    """Run every step in this separate process and write the results as JSON."""
    steps = []
    first_id = 1
    for rate in rates:
        steps.append(_send_step(base, rate, seconds, first_id, threads))
        first_id += int(rate * seconds)
    Path(out).write_text(json.dumps(steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    data_dir = tempfile.mkdtemp(prefix="bench-webhook-")
    port = free_port()
    env = dict(
        os.environ,
        APPLIANCE_DATA_DIR=data_dir,
        APPLIANCE_BIND=f"127.0.0.1:{port}",
        APPLIANCE_WEB_WORKERS=str(args.web_workers),
        APPLIANCE_WEBHOOK_SECRET=SECRET,
        APPLIANCE_LOG_LEVEL="WARNING",
    )
    env.pop("APPLIANCE_DATABASE_URL", None)
    appliance = str(VENV_BIN / "appliance")
    subprocess.run([appliance, "db", "upgrade"], env=env, check=True)
    server = subprocess.Popen([appliance, "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("appliance serve did not come up")
            time.sleep(0.3)

        out = str(Path(data_dir) / "steps.json")
        loader = multiprocessing.get_context("spawn").Process(
            target=_load_process,
            args=(base, rates, args.seconds, args.threads, out),
        )
        loader.start()
        loader.join(timeout=len(rates) * (args.seconds + 30) + 30)
        if loader.is_alive():
            loader.terminate()
            raise SystemExit("the load generator ran past its time bound")
        if loader.exitcode != 0:
            raise SystemExit(f"the load generator failed ({loader.exitcode})")
        steps = json.loads(Path(out).read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)

    settings = load_settings({"data_dir": data_dir}, environ={})
    db = Database(settings.resolved_database_url)
    accepted_ids = {job_id for step in steps for job_id in step.pop("job_ids")}
    with db.read_session() as session:
        stored = set(
            session.scalars(select(Job.id).where(Job.kind == INGEST_KIND)).all()
        )
        total_jobs = session.scalar(select(func.count()).select_from(Job))
    db.dispose()

    bench = Bench("webhook")
    bench.record("web_workers", args.web_workers)
    bench.record("database", "sqlite")
    for step in steps:
        bench.record(f"offered_{int(step['offered_per_s'])}_per_s", step)
    bench.record(
        "durability",
        {
            "accepted": len(accepted_ids),
            "ingest_jobs_in_database": len(stored),
            "lost": len(accepted_ids - stored),
            "jobs_total": total_jobs,
        },
    )
    bench.report()


if __name__ == "__main__":
    main()
