"""The poller: follows ``get_incidents`` on ``modification_time`` for new changes.

Each poll asks for incidents changed since the persisted cursor minus an overlap
window (XDR may stamp a change a little before it becomes visible), in pages of 100
sorted oldest first. Incidents whose modification time was already enqueued are
skipped; the others get an ``xdr.ingest_incident`` job under the same idempotency key
the webhook uses. The cursor and the jobs commit in one transaction.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.errors import ConfigError
from appliance.jobs import queue
from appliance.xdr.calls import Filter, Sort
from appliance.xdr.client import XdrClient, shared_client
from appliance.xdr.ingest import INGEST_KIND, ingest_key, ingest_max_attempts
from appliance.xdr.tables import PollCursor

if TYPE_CHECKING:
    from appliance.jobs.worker import Worker

logger = logging.getLogger(__name__)


def poll_once(db: Database, settings: Settings, client: XdrClient) -> int:
    """Run one poll; return the number of ingest jobs enqueued."""
    tenant = settings.tenant
    with db.read_session() as session:
        cursor = session.get(PollCursor, tenant)
        since = cursor.modification_time if cursor else 0
        seen = dict(cursor.seen) if cursor else {}
    overlap_ms = int(settings.poll_overlap_seconds * 1000)
    window_start = max(since - overlap_ms, 0)
    if cursor is None and settings.poll_first_lookback_seconds > 0:
        # A first poll reaches back a bounded time, not through all of history.
        lookback_ms = int(settings.poll_first_lookback_seconds * 1000)
        window_start = int(time.time() * 1000) - lookback_ms
    changed = list(
        client.iter_incidents(
            [Filter(field="modification_time", operator="gte", value=window_start)],
            Sort(field="modification_time", keyword="asc"),
        )
    )

    enqueued = 0
    newest = since
    with db.session() as session:
        for incident in changed:
            version = incident.modification_time or 0
            newest = max(newest, version)
            if seen.get(incident.incident_id, -1) >= version:
                continue
            _, created = queue.enqueue(
                session,
                INGEST_KIND,
                {"incident_id": incident.incident_id, "source": "poll"},
                idempotency_key=ingest_key(tenant, incident.incident_id, version),
                max_attempts=ingest_max_attempts(settings),
                correlation_id=f"poll:{incident.incident_id}",
            )
            enqueued += int(created)
            seen[incident.incident_id] = version
        horizon = newest - overlap_ms
        cursor = session.get(PollCursor, tenant)
        if cursor is None:
            cursor = PollCursor(tenant=tenant)
            session.add(cursor)
        cursor.modification_time = newest
        cursor.seen = {k: v for k, v in seen.items() if v >= horizon}
        cursor.last_polled_at = utcnow()

    logger.info(
        "xdr poll done",
        extra={"tenant": tenant, "changed": len(changed), "enqueued": enqueued},
    )
    return enqueued


class Poller:
    """The worker duty that polls XDR every ``poll_interval_seconds``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: XdrClient | None = None
        self._next = 0.0

    def __call__(self, worker: Worker) -> None:
        """Poll when enabled and due."""
        if not self.settings.poll_enabled or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.settings.poll_interval_seconds
        if self._client is None:
            try:
                self._client = shared_client(self.settings)
            except ConfigError:
                logger.warning("xdr polling is on but the XDR API is not configured")
                self._next = float("inf")
                return
        poll_once(worker.db, self.settings, self._client)
