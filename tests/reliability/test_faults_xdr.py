"""XDR faults: slow replies, dropped connections and a five-minute outage.

429 and 500 at 30 % are proven by tests/xdr/test_flow.py (200 incidents); these add
the other ways a tenant misbehaves. Each test ends with every reported incident
ingested once and its write-back posted to XDR exactly once.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import Job, JobState
from appliance.xdr.client import shared_client
from appliance.xdr.ingest import INGEST_KIND
from appliance.xdr.sandbox import Faults
from appliance.xdr.tables import OutboxEntry, OutboxState
from tests.reliability.pipeline import SimClock, pipeline_on

INCIDENTS = 24


def test_slow_replies_and_dropped_connections_write_each_incident_once(
    settings: Settings, db: Database
) -> None:
    faults = Faults(rate=0.3, kinds=("slow", "drop"), slow_seconds=0.2, seed=11)
    with pipeline_on(settings, db, faults, xdr_timeout_seconds=5.0) as line:
        ids = line.box.tenant.add_copies(INCIDENTS)
        line.report(ids + ids[:5])  # some connectors report twice

        line.run_until_settled()

        line.assert_each_written_once(ids)
    assert faults.injected["slow"] > 5 and faults.injected["drop"] > 5


def test_five_minute_outage_loses_nothing_and_writes_once(
    settings: Settings, db: Database, sim_clock: SimClock
) -> None:
    # Production retry settings; only the clock is simulated.
    with pipeline_on(
        settings,
        db,
        job_backoff_base_seconds=2.0,
        job_backoff_max_seconds=300.0,
        xdr_backoff_base_seconds=0.5,
        xdr_backoff_max_seconds=30.0,
        xdr_max_attempts=6,
    ) as line:
        shared_client(line.settings)._sleep = sim_clock.sleep
        line.sender._sleep = sim_clock.sleep
        before = line.box.tenant.add_copies(8)
        during = line.box.tenant.add_copies(8, first_id=2000)
        line.report(before)
        line.worker.run(idle_exit=True)  # ingested; write-backs queued, not sent

        # XDR goes away for five minutes: every call is dropped or answered 500.
        line.box.app.faults = Faults(rate=1.0, kinds=("drop", "500"))
        line.report(during)
        while sim_clock.elapsed < 300:
            line.step()
            sim_clock.advance(5)
        with db.read_session() as session:
            states = set(session.scalars(select(Job.state)))
            outbox_states = set(session.scalars(select(OutboxEntry.state)))
        assert JobState.DEAD not in states
        assert OutboxState.FAILED not in outbox_states
        assert sum(line.box.tenant.writes.values()) == 0

        # XDR is back: everything drains, as the simulated time moves on.
        line.box.app.faults = Faults()
        deadline = time.monotonic() + 30
        while line.pending() and time.monotonic() < deadline:
            line.step()
            sim_clock.advance(15)

        line.assert_each_written_once(before + during)
        with db.read_session() as session:
            retried = session.scalars(
                select(Job.attempts).where(Job.kind == INGEST_KIND)
            ).all()
        assert max(retried) > 1
