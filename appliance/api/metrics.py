"""Prometheus metrics: HTTP traffic of this process, and queue state from the database.

Queue and worker figures are read from the database at scrape time, so every web
process reports the same numbers whichever one is scraped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.db.tables import WorkerHeartbeat
from appliance.jobs import queue

# Collectors that other domains add (impact metrics, model calls); each gets the
# database and settings and yields metric families.
ExtraCollector = Callable[[Database, Settings], Iterable[GaugeMetricFamily]]
EXTRA_COLLECTORS: list[ExtraCollector] = []


class QueueCollector(Collector):
    """Expose job counts by state, queue age and live workers."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Read the figures from the database."""
        jobs = GaugeMetricFamily(
            "appliance_jobs", "Jobs in the queue by state.", labels=["state"]
        )
        age = GaugeMetricFamily(
            "appliance_queue_oldest_seconds", "Wait of the oldest runnable queued job."
        )
        workers = GaugeMetricFamily("appliance_workers_live", "Workers seen recently.")
        since = utcnow() - dt.timedelta(seconds=self.settings.worker_stale_seconds)
        with self.db.read_session() as session:
            for state, count in queue.counts_by_state(session).items():
                jobs.add_metric([state], count)
            age.add_metric([], queue.oldest_queued_age(session))
            live = session.scalar(
                select(func.count())
                .select_from(WorkerHeartbeat)
                .where(WorkerHeartbeat.last_seen_at >= since)
                .where(WorkerHeartbeat.state != "stopped")
            )
            workers.add_metric([], float(live or 0))
        yield from (jobs, age, workers)
        for extra in EXTRA_COLLECTORS:
            yield from extra(self.db, self.settings)


class HttpMetrics:
    """Request counters and latency of this web process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "appliance_http_requests",
            "HTTP requests handled, by route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "appliance_http_request_seconds",
            "HTTP request latency, by route.",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


def build_registry(
    db: Database, settings: Settings
) -> tuple[CollectorRegistry, HttpMetrics]:
    """Create this app's registry with the queue collector and HTTP metrics."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(db, settings))

    return registry, HttpMetrics(registry)
