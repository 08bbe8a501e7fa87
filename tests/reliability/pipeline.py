"""An incident pipeline on the XDR sandbox, and a simulated clock, for fault tests.

The pipeline is the real intake (signed webhooks into the app), the real ingest job
on a worker, the real outbox sender, and the sandbox that counts every write per
incident. The analysis step is the stand-in of tests/xdr/test_flow.py (one labelled
comment per analyzed incident version), so the XDR faults are what is measured.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from flask.testing import FlaskClient
from sqlalchemy import func, select

from appliance import create_app
from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import Job, JobState
from appliance.jobs.worker import Worker
from appliance.xdr import outbox
from appliance.xdr.client import XdrClient, shared_client
from appliance.xdr.ingest import ANALYZE_KIND, INGEST_KIND
from appliance.xdr.sandbox import Faults
from appliance.xdr.tables import OutboxEntry, OutboxState
from tests.fakes.webhooks import post_signed
from tests.fakes.xdr_sandbox import RunningSandbox, running_sandbox
from tests.xdr.test_flow import SECRET, analyze_like_a_task, flow_settings


class SimClock:
    """A wall clock the queue and the outbox read, moved on by the test."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = self.started = start

    def utcnow(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Stand in for time.sleep: the time passes at once."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    @property
    def elapsed(self) -> float:
        return (self.now - self.started).total_seconds()


@dataclass
class Pipeline:
    """Intake, worker, analysis stand-in and outbox sender over one sandbox."""

    box: RunningSandbox
    settings: Settings
    db: Database
    hook: FlaskClient
    worker: Worker
    sender: XdrClient

    def report(self, incident_ids: list[str]) -> list[int]:
        """Send one signed webhook per incident, as a connector does; return job ids."""
        job_ids = []
        for incident_id in incident_ids:
            incident = self.box.tenant.incidents[incident_id]["incident"]
            raw = json.dumps(
                {
                    "incident_id": incident_id,
                    "modification_time": incident["modification_time"],
                }
            ).encode()
            response = post_signed(self.hook, raw, SECRET)
            assert response.status_code == 202
            job_ids.append(response.get_json()["job_id"])
        return job_ids

    def step(self) -> None:
        """Run what is due: ingest jobs, the analysis stand-in, one outbox round."""
        self.worker.run(idle_exit=True)
        analyze_like_a_task(self.db, self.settings)
        outbox.send_due(self.db, self.sender, self.settings, "reliability-sender")

    def pending(self) -> int:
        """Count ingest jobs and write-backs not yet finished."""
        with self.db.read_session() as session:
            jobs = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
                .where(Job.kind == INGEST_KIND)
            )
            writes = session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state.in_([OutboxState.QUEUED, OutboxState.SENDING]))
            )
        return int(jobs or 0) + int(writes or 0)

    def run_until_settled(self, seconds: float = 40.0) -> None:
        """Step until nothing is pending, within ``seconds`` of real time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.step()
            if not self.pending():
                return
            time.sleep(0.02)
        raise AssertionError(f"{self.pending()} jobs or write-backs still pending")

    def assert_each_written_once(self, incident_ids: list[str]) -> None:
        """Every incident ingested once, analyzed once, and written to XDR once."""
        with self.db.read_session() as session:
            ingest = session.execute(
                select(Job.state, func.count())
                .where(Job.kind == INGEST_KIND)
                .group_by(Job.state)
            ).all()
            analyzed = session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == ANALYZE_KIND)
            )
            sent = session.execute(
                select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
            ).all()
        assert ingest == [(JobState.SUCCEEDED, len(incident_ids))]
        assert analyzed == len(incident_ids)
        assert sent == [(OutboxState.SENT, len(incident_ids))]
        writes = self.box.tenant.writes
        assert {i: writes[i] for i in incident_ids} == dict.fromkeys(incident_ids, 1)
        assert all(len(self.box.tenant.comments[i]) == 1 for i in incident_ids)


@contextmanager
def pipeline_on(
    settings: Settings, db: Database, faults: Faults | None = None, **changes: object
) -> Iterator[Pipeline]:
    """Run a pipeline over a fresh sandbox with ``faults``; settings ``changes``."""
    with running_sandbox(faults, samples=False) as box:
        config = replace(flow_settings(settings, box.url), **changes)  # type: ignore[arg-type]
        app = create_app(config)
        worker = Worker(db, config, kinds=[INGEST_KIND], worker_id="rel-worker")
        try:
            with XdrClient.from_settings(config) as sender:
                yield Pipeline(box, config, db, app.test_client(), worker, sender)
        finally:
            app.extensions["appliance"].db.dispose()
            shared_client(config).close()
