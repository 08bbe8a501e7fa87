"""Fixtures of the reliability tests: a simulated clock for long outages."""

from __future__ import annotations

import pytest

from appliance.jobs import queue
from appliance.xdr import outbox, writeback
from tests.reliability.pipeline import SimClock


@pytest.fixture
def sim_clock(monkeypatch: pytest.MonkeyPatch) -> SimClock:
    """Replace the clock of the job queue and the outbox with a simulated one."""
    clock = SimClock(queue.utcnow())
    for module in (queue, outbox, writeback):
        monkeypatch.setattr(module, "utcnow", clock.utcnow)
    return clock
