"""Readiness of the XDR link: configured, write-backs flowing, poller current."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.xdr.tables import OutboxEntry, OutboxState, PollCursor

if TYPE_CHECKING:
    # Imported when called: appliance.api.readiness lists this check in CHECKS.
    from appliance.api.readiness import Check


def check_xdr(db: Database, settings: Settings) -> Check:
    """Report the XDR link; degraded (never failed) so intake keeps working.

    Degraded when XDR is not configured, a write-back gave up, or polling is on
    but the last poll is older than three intervals.
    """
    from appliance.api.readiness import Check

    with db.read_session() as session:
        rows = session.execute(
            select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
        ).all()
        cursor = session.get(PollCursor, settings.tenant)
        last_poll = cursor.last_polled_at if cursor else None
    outbox = {OutboxState(state).value: int(count) for state, count in rows}
    data: dict[str, object] = {
        "outbox": outbox,
        "last_poll": last_poll.isoformat() if last_poll else None,
    }

    if not (settings.xdr_base_url and settings.xdr_api_key_id and settings.xdr_api_key):
        return Check("xdr", "degraded", "Cortex XDR API is not configured", data)
    if outbox.get(OutboxState.FAILED.value):
        return Check(
            "xdr",
            "degraded",
            f"{outbox[OutboxState.FAILED.value]} write-backs failed; see xdr_outbox",
            data,
        )
    if settings.poll_enabled:
        stale = utcnow() - dt.timedelta(seconds=3 * settings.poll_interval_seconds)
        if last_poll is None or last_poll < stale:
            return Check("xdr", "degraded", "the poller has not run recently", data)
    pending = outbox.get(OutboxState.QUEUED.value, 0)

    return Check("xdr", "ok", f"{pending} write-backs waiting to be sent", data)
