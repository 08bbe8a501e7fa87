"""The poller follows modification_time with a persisted, overlapping cursor."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import Job
from appliance.xdr.ingest import INGEST_KIND
from appliance.xdr.poller import poll_once
from appliance.xdr.tables import PollCursor
from tests.fakes.xdr_sandbox import RunningSandbox


def ingest_jobs(db: Database) -> list[str]:
    with db.read_session() as session:
        return [
            job.payload["incident_id"]
            for job in session.scalars(
                select(Job).where(Job.kind == INGEST_KIND).order_by(Job.id)
            )
        ]


def test_poll_enqueues_new_and_changed_incidents_once(
    settings: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    config = replace(
        settings, poll_overlap_seconds=3600.0, poll_first_lookback_seconds=0.0
    )
    with sandbox.client() as client:
        assert poll_once(db, config, client) == 6
        assert poll_once(db, config, client) == 0  # overlap re-reads, dedupe skips

        sandbox.tenant.touch("103")
        assert poll_once(db, config, client) == 1

    assert ingest_jobs(db) == ["101", "102", "103", "104", "105", "106", "103"]
    with db.read_session() as session:
        cursor = session.get(PollCursor, config.tenant)
        newest = sandbox.tenant.incidents["103"]["incident"]["modification_time"]
        assert cursor is not None and cursor.modification_time == newest
        assert cursor.last_polled_at is not None


def test_poll_follows_every_page(
    settings: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    sandbox.tenant.add_copies(150)
    with sandbox.client() as client:
        assert poll_once(db, settings, client) == 150  # samples are older than a day

    assert sandbox.app.calls["incidents/get_incidents"] == 2


def test_seen_entries_leave_the_cursor_once_out_of_the_window(
    settings: Settings, db: Database, sandbox: RunningSandbox
) -> None:
    config = replace(
        settings, poll_overlap_seconds=0.0, poll_first_lookback_seconds=0.0
    )
    with sandbox.client() as client:
        poll_once(db, config, client)

    with db.read_session() as session:
        cursor = session.get(PollCursor, config.tenant)
        assert cursor is not None
        assert list(cursor.seen) == ["106"]  # only the newest is inside the window
