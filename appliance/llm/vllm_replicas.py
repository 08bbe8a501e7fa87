"""Spread vLLM calls over several servers that serve the same model.

Each call goes to the replica with the fewest calls in flight (ties to the one that
has had the fewest calls), so a slow or busy replica gets less work without any
measure of its load. A replica that refuses connections is skipped for a short
while; the call that found it so is sent to another one, which is safe because
nothing reached the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


def parse_urls(value: str) -> list[str]:
    """Return the base URLs in a comma- or space-separated list, without a final /."""
    urls = [part.strip().rstrip("/") for part in value.replace(",", " ").split()]

    return list(dict.fromkeys(u for u in urls if u))


@dataclass
class Replica:
    """One vLLM server and what the pool knows of it."""

    url: str
    client: httpx.Client
    in_flight: int = 0
    calls: int = 0
    down_until: float = 0.0


class ReplicaPool:
    """The vLLM servers of one model, least busy first."""

    def __init__(
        self,
        urls: list[str],
        make_client: Callable[[str], httpx.Client],
        *,
        retry_after_s: float = 5.0,
    ) -> None:
        if not urls:
            raise ValueError("a replica pool needs at least one URL")
        self.replicas = [Replica(url, make_client(url)) for url in urls]
        self.retry_after_s = retry_after_s
        self._lock = threading.Lock()

    def _pick(self, exclude: set[str]) -> Replica:
        """Choose the least busy replica not excluded, preferring those not down."""
        now = time.monotonic()
        left = [r for r in self.replicas if r.url not in exclude] or self.replicas
        up = [r for r in left if r.down_until <= now] or left

        return min(up, key=lambda r: (r.in_flight, r.calls))

    @contextmanager
    def lease(self, exclude: set[str] | None = None) -> Iterator[Replica]:
        """Hold a replica for one call; ``exclude`` names those already tried."""
        with self._lock:
            replica = self._pick(exclude or set())
            replica.in_flight += 1
            replica.calls += 1
        try:
            yield replica
        finally:
            with self._lock:
                replica.in_flight -= 1

    def mark_down(self, replica: Replica) -> None:
        """Skip a replica that refused a connection for ``retry_after_s``."""
        with self._lock:
            replica.down_until = time.monotonic() + self.retry_after_s

    def mark_up(self, replica: Replica) -> None:
        """Use a replica again at once (it answered)."""
        with self._lock:
            replica.down_until = 0.0

    def close(self) -> None:
        """Close every replica's HTTP client."""
        for replica in self.replicas:
            replica.client.close()
