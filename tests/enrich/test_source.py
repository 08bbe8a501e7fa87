"""The TTL cache every source uses."""

from __future__ import annotations

import pytest

from appliance.enrich.source import SourceUnavailable, TtlCache


def test_value_is_reused_until_the_ttl_runs_out() -> None:
    now = [0.0]
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    cache = TtlCache(load, ttl=10, clock=lambda: now[0])

    assert (cache.get(), cache.get()) == (1, 1)
    now[0] = 10.5
    assert cache.get() == 2


def test_a_failed_load_is_not_cached() -> None:
    calls = [0]

    def load() -> str:
        calls[0] += 1
        if calls[0] == 1:
            raise SourceUnavailable("down")
        return "up"

    cache = TtlCache(load, ttl=60)

    with pytest.raises(SourceUnavailable):
        cache.get()
    assert cache.get() == "up"
