"""``appliance demo``: the whole appliance on embedded defaults, end to end.

It migrates the embedded SQLite database, starts the web service and a worker as
separate processes (as in production), sends work through the queue, and prints what
happened at each step, so an operator sees every part working on this machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import click

from appliance.config import Settings
from appliance.db import migrate
from appliance.db.engine import Database
from appliance.db.tables import Job, JobState
from appliance.jobs import queue


def _step(message: str) -> None:
    click.echo(click.style("==> ", fg="cyan", bold=True) + message)


def _get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """GET a URL and return its status and JSON body (also for error statuses)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _wait_for(url: str, deadline: float) -> None:
    """Wait until the URL answers."""
    while time.monotonic() < deadline:
        try:
            _get_json(url, timeout=1.0)
            return
        except OSError:
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer in time")


def _wait_for_job(db: Database, job_id: int, deadline: float) -> Job:
    """Wait until the job reaches a final state."""
    while time.monotonic() < deadline:
        with db.read_session() as session:
            job = session.get(Job, job_id)
            if job is not None and job.state in queue.TERMINAL:
                return job
        time.sleep(0.2)
    raise click.ClickException(f"job {job_id} did not finish in time")


def run_demo(settings: Settings, *, bind: str, once: bool) -> int:
    """Run the demo; return the process exit status."""
    db = Database(settings.resolved_database_url)
    _step(f"database: {db.url.render_as_string(hide_password=True)}")
    migrate.upgrade(db)
    _step(f"schema at {', '.join(sorted(migrate.current_revisions(db)))}")

    from appliance.xdr.demo_sandbox import feed_incidents, start_demo_sandbox

    sandbox = start_demo_sandbox()
    _step(f"Cortex XDR sandbox at {sandbox.server.url} with sample incidents")
    env = dict(os.environ, APPLIANCE_BIND=bind, **sandbox.env)
    env.setdefault("APPLIANCE_ROLLOUT_PHASE", "suggest")
    exe = str(Path(sys.executable).with_name("appliance"))
    processes = {
        "web": subprocess.Popen([exe, "serve"], env=env),
        "worker": subprocess.Popen([exe, "worker"], env=env),
    }
    base = f"http://{bind}"
    try:
        _wait_for(f"{base}/healthz", time.monotonic() + 60)
        _step(f"web service up at {base} (API under {base}/api/v1)")

        with db.session() as session:
            job, _ = queue.enqueue(
                session, "system.selftest", {}, correlation_id="demo"
            )
            job_id = job.id
        _step(f"enqueued job {job_id} (system.selftest); waiting for the worker")
        done = _wait_for_job(db, job_id, time.monotonic() + 120)
        if done.state != JobState.SUCCEEDED:
            _step(f"job {job_id} ended {done.state.value}: {done.last_error}")
            return 1
        _step(f"job {job_id} succeeded: {json.dumps(done.result)}")

        if not feed_incidents(sandbox, db, base, _step, click.echo):
            _step("not every sample incident was fetched; see the worker's log")
            return 1

        status, ready = _get_json(f"{base}/readyz")
        _step(f"/readyz answered {status}: {ready['status']}")
        for check in ready["checks"]:
            click.echo(
                f"    {check['name']:<12} {check['status']:<9} {check['detail']}"
            )

        if once:
            _step("demo complete")
            return 0
        _step(f"running; open {base}/api/v1/openapi.json - press Ctrl-C to stop")
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        sandbox.stop()
