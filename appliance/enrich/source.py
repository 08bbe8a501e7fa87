"""The one interface every enrichment source implements, and its TTL cache."""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from appliance.enrich.model import IncidentEntities

T = TypeVar("T")


class SourceUnavailable(Exception):
    """A source could not be read: missing file, dead server, unreadable data."""


class Source(abc.ABC):
    """A local source of context about incident entities.

    ``lookup`` returns findings (plain JSON-able dicts) and raises
    :class:`SourceUnavailable` when the source cannot be read; the service turns any
    failure into a ``failed`` result, so one dead source never blocks an incident.
    """

    #: What the source tells about: ``asset``, ``vulnerability``, ``indicator``,
    #: ``attack``.
    kind: str = ""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def is_configured(self) -> bool:
        """Whether an administrator set this source up at all."""
        return True

    @abc.abstractmethod
    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return what the source knows about ``entities``."""


class TtlCache(Generic[T]):
    """Keeps one loaded value for ``ttl`` seconds, reloading it when stale.

    A failed reload is not cached: the next call tries again.
    """

    def __init__(
        self,
        load: Callable[[], T],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded_at: float | None = None

    @property
    def fresh(self) -> bool:
        """Whether a loaded value is there and younger than the TTL."""
        return (
            self._loaded_at is not None and self._clock() - self._loaded_at < self._ttl
        )

    def get(self) -> T:
        """Return the cached value, loading it first when missing or stale."""
        with self._lock:
            if self._value is None or not self.fresh:
                self._value = self._load()
                self._loaded_at = self._clock()
            return self._value

    def clear(self) -> None:
        """Forget the cached value."""
        with self._lock:
            self._value = None
            self._loaded_at = None
