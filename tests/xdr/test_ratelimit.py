"""Token buckets and XQL slots, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from appliance.xdr.ratelimit import (
    EXTRA_DATA_CALL,
    TenantLimiter,
    TokenBucket,
    XqlSlots,
    limiter_for,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_paces() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, 10.0, clock=clock, sleep=clock.sleep)

    for _ in range(10):
        assert bucket.acquire() == 0.0
    waited = bucket.acquire()

    assert waited == pytest.approx(0.1)
    assert clock.now == pytest.approx(0.1)


def test_extra_data_is_held_to_ten_a_minute() -> None:
    clock = FakeClock()
    limiter = TenantLimiter(10.0, 10.0, 4)
    bucket = limiter.per_call[EXTRA_DATA_CALL]
    bucket._clock, bucket._sleep, bucket._updated = clock, clock.sleep, 0.0

    for _ in range(10):
        bucket.acquire()
    bucket.acquire()

    assert clock.now == pytest.approx(6.0)  # one token every 6 seconds


def test_bucket_refuses_bad_parameters() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0.0, 1.0)


def test_xql_slots_hold_at_most_four() -> None:
    slots = XqlSlots(4)
    for n in range(4):
        assert slots.reserve(timeout=0)
        slots.started(f"q{n}")

    assert not slots.reserve(timeout=0.05)
    released = threading.Timer(0.05, slots.finished, args=("q0",))
    released.start()
    assert slots.reserve(timeout=5)
    slots.started(None)  # the start failed: the slot is free again
    assert slots.running == 3


def test_limiters_are_shared_per_tenant(settings) -> None:  # type: ignore[no-untyped-def]
    assert limiter_for(settings) is limiter_for(settings)
