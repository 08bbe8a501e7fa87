"""Client-side rate limits of one Cortex XDR tenant.

XDR allows about 10 requests a second per tenant, ``get_incident_extra_data`` 10 a
minute, and at most 4 XQL queries running at once. Every client of a tenant in this
process shares one :class:`TenantLimiter`, so the limits hold across threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from appliance.config import Settings

EXTRA_DATA_CALL = "incidents/get_incident_extra_data"
# A query the caller never asked the result of stops counting after this long.
XQL_SLOT_EXPIRY_SECONDS = 600.0


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, bursts up to ``capacity``."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs a positive rate and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(
            self.capacity, self._tokens + (now - self._updated) * self.rate
        )
        self._updated = now

    def try_acquire(self) -> float:
        """Take a token if there is one; return 0, or the seconds to wait for one."""
        with self._lock:
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0

            return (1 - self._tokens) / self.rate

    def acquire(self) -> float:
        """Wait for a token and take it; return the seconds waited."""
        waited = 0.0
        while (wait := self.try_acquire()) > 0:
            self._sleep(wait)
            waited += wait

        return waited


class XqlSlots:
    """At most ``size`` XQL queries running at once, released by query id."""

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self._clock = clock
        self._running: dict[str, float] = {}
        self._reserved = 0
        self._cond = threading.Condition()

    def _expire(self) -> None:
        cutoff = self._clock() - XQL_SLOT_EXPIRY_SECONDS
        for query_id in [q for q, t in self._running.items() if t < cutoff]:
            del self._running[query_id]

    def reserve(self, timeout: float | None = None) -> bool:
        """Wait for a free slot and hold it; False when ``timeout`` ran out."""
        with self._cond:
            deadline = None if timeout is None else self._clock() + timeout
            while True:
                self._expire()
                if len(self._running) + self._reserved < self.size:
                    self._reserved += 1
                    return True
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining or 1.0, 1.0))

    def started(self, query_id: str | None) -> None:
        """Turn a reservation into a running query (None: the start failed)."""
        with self._cond:
            self._reserved -= 1
            if query_id is not None:
                self._running[query_id] = self._clock()
            self._cond.notify_all()

    def finished(self, query_id: str) -> None:
        """Free the slot of a query that succeeded or failed."""
        with self._cond:
            self._running.pop(query_id, None)
            self._cond.notify_all()

    @property
    def running(self) -> int:
        """Return how many queries hold a slot."""
        with self._cond:
            self._expire()
            return len(self._running) + self._reserved


class TenantLimiter:
    """The limits of one tenant: overall rate, per-call rates and XQL slots."""

    def __init__(
        self,
        requests_per_second: float,
        extra_data_per_minute: float,
        xql_parallel: int,
    ) -> None:
        self.overall = TokenBucket(requests_per_second, max(requests_per_second, 1.0))
        self.per_call = {
            EXTRA_DATA_CALL: TokenBucket(
                extra_data_per_minute / 60.0, max(extra_data_per_minute, 1.0)
            )
        }
        self.xql = XqlSlots(xql_parallel)

    def acquire(self, call: str) -> float:
        """Wait until ``call`` may be sent; return the seconds waited."""
        waited = 0.0
        bucket = self.per_call.get(call)
        if bucket is not None:
            waited += bucket.acquire()

        return waited + self.overall.acquire()


_limiters: dict[str, TenantLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(settings: Settings) -> TenantLimiter:
    """Return the process-wide limiter of the settings' tenant and base URL."""
    key = f"{settings.tenant}|{settings.xdr_base_url}"
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = TenantLimiter(
                settings.xdr_requests_per_second,
                settings.xdr_extra_data_per_minute,
                settings.xdr_xql_parallel,
            )
            _limiters[key] = limiter

    return limiter
