"""The XDR step of ``appliance demo``: a sandbox tenant fed through the webhook.

The demo serves the sandbox in-process on a free loopback port, points the web
service and the worker at it, sends every sample incident through the signed
webhook, waits for the worker to fetch them, and prints what was stored and what
was written back.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from appliance.db.engine import Database
from appliance.db.tables import Job, JobState
from appliance.intake.signature import sign
from appliance.jobs.registry import load_handlers
from appliance.xdr.ingest import ANALYZE_KIND, INGEST_KIND
from appliance.xdr.sandbox import SandboxApp, SandboxServer
from appliance.xdr.sandbox_tenant import SandboxTenant
from appliance.xdr.tables import OutboxEntry, XdrAlert
from appliance.xdr.writeback import AI_LABEL

KEY_ID = "demo"


@dataclass
class DemoSandbox:
    """A running sandbox and the settings the appliance's processes need for it."""

    server: SandboxServer
    tenant: SandboxTenant
    env: dict[str, str]
    webhook_secret: str

    def stop(self) -> None:
        """Stop the sandbox."""
        self.server.stop()


def start_demo_sandbox() -> DemoSandbox:
    """Serve a sandbox with the sample incidents and a fresh advanced key."""
    tenant = SandboxTenant()
    key = secrets.token_hex(32)
    tenant.add_key(KEY_ID, key, "advanced")
    tenant.load_samples()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = SandboxServer(SandboxApp(tenant), port=port).start()
    webhook_secret = secrets.token_hex(16)
    env = {
        "APPLIANCE_XDR_BASE_URL": server.url,
        "APPLIANCE_XDR_API_KEY_ID": KEY_ID,
        "APPLIANCE_XDR_API_KEY": key,
        "APPLIANCE_XDR_KEY_TYPE": "advanced",
        "APPLIANCE_WEBHOOK_SECRET": webhook_secret,
    }

    return DemoSandbox(server, tenant, env, webhook_secret)


def _post_webhook(base: str, secret: str, incident: dict[str, Any]) -> dict[str, Any]:
    """Send one signed webhook the way a connector does; return the JSON reply."""
    body = json.dumps(
        {
            "incident_id": incident["incident_id"],
            "modification_time": incident["modification_time"],
        }
    ).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        f"{base}/api/v1/webhooks/xdr",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Appliance-Timestamp": stamp,
            "X-Appliance-Signature": sign(secret, stamp, body),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def feed_incidents(
    sandbox: DemoSandbox,
    db: Database,
    base: str,
    step: Callable[[str], None],
    echo: Callable[[str], None],
    *,
    wait_seconds: float = 120.0,
) -> bool:
    """Send the sample incidents through the webhook and report what followed."""
    incidents = [extra["incident"] for extra in sandbox.tenant.incidents.values()]
    job_ids = []
    for incident in incidents:
        reply = _post_webhook(base, sandbox.webhook_secret, incident)
        job_ids.append(reply["job_id"])
        echo(
            f"    webhook incident {incident['incident_id']:<5} -> 202, job "
            f"{reply['job_id']} ({incident.get('incident_name') or ''})"
        )
    step(f"sent {len(incidents)} incidents through POST /api/v1/webhooks/xdr")

    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with db.read_session() as session:
            states = set(
                session.scalars(select(Job.state).where(Job.id.in_(job_ids))).all()
            )
        if states <= {JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED}:
            break
        time.sleep(0.3)
    with db.read_session() as session:
        done = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.id.in_(job_ids), Job.state == JobState.SUCCEEDED)
        )
        alerts = session.scalar(select(func.count()).select_from(XdrAlert))
        analyses = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == ANALYZE_KIND)
        )
    step(
        f"worker fetched {done}/{len(job_ids)} incidents ({INGEST_KIND}): "
        f"{alerts} alerts stored, {analyses} {ANALYZE_KIND} jobs queued"
    )
    if ANALYZE_KIND not in load_handlers():
        echo(f"    no {ANALYZE_KIND} handler is installed; analyses wait in the queue")

    _report_write_backs(sandbox, db, echo, deadline)

    return done == len(job_ids)


def _report_write_backs(
    sandbox: DemoSandbox, db: Database, echo: Callable[[str], None], deadline: float
) -> None:
    """Print the outbox and what the sandbox received."""
    while time.monotonic() < deadline:
        with db.read_session() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state.in_(["queued", "sending"]))
            )
        if not pending:
            break
        time.sleep(0.5)
    with db.read_session() as session:
        rows = session.execute(
            select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
        ).all()
    echo(f"    outbox: {dict((str(s), n) for s, n in rows) or 'empty'}")
    for incident_id, comments in sorted(sandbox.tenant.comments.items()):
        for comment in comments:
            lines = [line for line in comment.splitlines()[1:] if line.strip()]
            summary = lines[0][:80] if lines else ""
            echo(f"    incident {incident_id} <- labelled comment: {summary}")
    if any(sandbox.tenant.comments.values()):
        echo(f"    (each begins with: {AI_LABEL})")
