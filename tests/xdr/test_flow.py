"""Intake to write-back under faults: every comment is posted exactly once."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from appliance import create_app
from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent, Job, JobState
from appliance.governance import audit
from appliance.governance.gate import WriteBackRequest
from appliance.jobs.worker import Worker
from appliance.xdr import duties, outbox
from appliance.xdr.client import XdrClient
from appliance.xdr.ingest import ANALYZE_KIND, INGEST_KIND
from appliance.xdr.poller import poll_once
from appliance.xdr.sandbox import Faults
from appliance.xdr.tables import OutboxEntry, OutboxState, XdrAlert, XdrIncident
from appliance.xdr.writeback import AI_LABEL, SOURCE_TAG, queue_write_back
from tests.fakes.webhooks import post_signed
from tests.fakes.xdr_sandbox import KEYS, running_sandbox

SECRET = "flow-secret"
INCIDENTS = 200


def flow_settings(settings: Settings, url: str) -> Settings:
    key_id, key = KEYS["advanced"]
    return replace(
        settings,
        xdr_base_url=url,
        xdr_api_key_id=key_id,
        xdr_api_key=key,
        xdr_requests_per_second=5000.0,
        xdr_extra_data_per_minute=600000.0,
        xdr_max_attempts=12,
        xdr_backoff_base_seconds=0.005,
        xdr_backoff_max_seconds=0.02,
        webhook_secret=SECRET,
        rollout_phase="suggest",
        poll_first_lookback_seconds=0.0,
        tenant=f"flow-{time.monotonic_ns()}",
    )


def analyze_like_a_task(db: Database, settings: Settings) -> int:
    """Stand in for the analysis tasks: one labelled comment per analyze job."""
    queued = 0
    with db.session() as session:
        for job in session.scalars(select(Job).where(Job.kind == ANALYZE_KIND)):
            incident_id = job.payload["incident_id"]
            for _ in range(2):  # a retried task asks twice; the outbox keeps one
                queue_write_back(
                    session,
                    settings,
                    WriteBackRequest(
                        tenant=settings.tenant,
                        task="triage",
                        kind="comment",
                        incident_id=incident_id,
                        incident_severity="low",
                        confidence=0.8,
                    ),
                    idempotency_key=f"triage:{incident_id}:{job.payload['modification_time']}",
                    text=f"Triage summary for incident {incident_id}.",
                    actor="task:triage",
                    correlation_id=job.correlation_id,
                )
            queued += 1
    return queued


def test_200_incidents_flow_to_exactly_one_comment_each_under_30pct_faults(
    settings: Settings, db: Database
) -> None:
    faults = Faults(rate=0.3, kinds=("429", "500"), seed=3)
    with running_sandbox(faults) as box:
        ids = box.tenant.add_copies(INCIDENTS)
        config = flow_settings(settings, box.url)
        app = create_app(config)
        hook = app.test_client()

        # Connectors report every incident, some twice.
        for incident_id in ids + ids[:20]:
            mtime = box.tenant.incidents[incident_id]["incident"]["modification_time"]
            raw = json.dumps(
                {"incident_id": incident_id, "modification_time": mtime}
            ).encode()
            response = post_signed(hook, raw, SECRET)
            assert response.status_code == 202
        app.extensions["appliance"].db.dispose()

        # The poller sees the same incidents and only adds the six samples.
        with XdrClient.from_settings(config) as client:
            assert poll_once(db, config, client) == 6
            assert poll_once(db, config, client) == 0

        worker = Worker(db, config, kinds=[INGEST_KIND], worker_id="flow-worker")
        assert worker.run(idle_exit=True) == INCIDENTS + 6

        assert analyze_like_a_task(db, config) == INCIDENTS + 6

        # Two senders race over the outbox until everything is acknowledged; with
        # few client-side tries, the outbox's own retries are exercised too.
        senders = replace(config, xdr_max_attempts=2)
        with (
            XdrClient.from_settings(senders) as c1,
            XdrClient.from_settings(senders) as c2,
        ):

            def drain(client: XdrClient, owner: str) -> None:
                deadline = time.monotonic() + 50
                while time.monotonic() < deadline:
                    outbox.send_due(db, client, senders, owner)
                    with db.read_session() as session:
                        left = session.scalar(
                            select(func.count())
                            .select_from(OutboxEntry)
                            .where(OutboxEntry.state != OutboxState.SENT)
                        )
                    if not left:
                        return
                    time.sleep(0.01)

            threads = [
                threading.Thread(target=drain, args=(c1, "sender-a")),
                threading.Thread(target=drain, args=(c2, "sender-b")),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        every = ids + [str(i) for i in range(101, 107)]
        alerts = sum(len(box.tenant.incidents[i]["alerts"]["data"]) for i in every)
        assert all(len(box.tenant.comments[i]) == 1 for i in every)
        assert all(box.tenant.writes[i] == 1 for i in every)
        assert faults.injected["429"] > 20 and faults.injected["500"] > 20

    comment = box.tenant.comments[ids[0]][0]
    assert comment.startswith(AI_LABEL)
    assert SOURCE_TAG in comment
    with db.read_session() as session:
        states = session.execute(
            select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
        ).all()
        assert states == [(OutboxState.SENT, INCIDENTS + 6)]
        outcomes = dict(
            session.execute(
                select(AuditEvent.outcome, func.count())
                .where(AuditEvent.action == outbox.ACTION)
                .group_by(AuditEvent.outcome)
            ).all()
        )
        assert outcomes["success"] == INCIDENTS + 6
        assert outcomes["attempt"] == outcomes["success"] + outcomes.get("failure", 0)
        assert outcomes.get("failure", 0) > 0
        assert audit.verify(session) == []
        assert session.scalar(select(func.count()).select_from(XdrIncident)) == 206
        assert session.scalar(select(func.count()).select_from(XdrAlert)) == alerts
        ingest_states = set(
            session.scalars(select(Job.state).where(Job.kind == INGEST_KIND))
        )
        assert ingest_states == {JobState.SUCCEEDED}


def test_duties_attach_poller_and_sender(settings: Settings, db: Database) -> None:
    worker = Worker(db, settings, worker_id="duty-worker")
    duties.attach(worker)

    assert [type(d).__name__ for d in worker.duties][-2:] == ["Poller", "OutboxSender"]
    worker._run_duties()  # no XDR configured: both stay quiet


@pytest.mark.parametrize(
    ("phase", "state"),
    [
        ("read_only", OutboxState.DRAFT),
        ("suggest", OutboxState.QUEUED),
    ],
)
def test_gate_verdict_decides_the_outbox_state(
    settings: Settings, db: Database, phase: str, state: OutboxState
) -> None:
    config = replace(settings, rollout_phase=phase)
    with db.session() as session:
        entry = queue_write_back(
            session,
            config,
            WriteBackRequest(
                tenant="t", task="triage", kind="comment", incident_id="5"
            ),
            idempotency_key=f"k-{phase}",
            text="hello",
        )

    assert entry.state == state
