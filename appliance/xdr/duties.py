"""Attach the XDR duties (the poller and the outbox sender) to a worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.xdr.outbox import OutboxSender
from appliance.xdr.poller import Poller

if TYPE_CHECKING:
    from appliance.jobs.worker import Worker


def attach(worker: Worker, *, outbox_interval: float = 1.0) -> None:
    """Add the poller (runs when polling is enabled) and the outbox sender."""
    worker.duties.append(Poller(worker.settings))
    worker.duties.append(OutboxSender(worker.settings, interval=outbox_interval))
