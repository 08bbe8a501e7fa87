"""A small benchmark harness every benchmark in this folder uses.

Each measurement warms up, repeats, and reports the median and spread; results print
as one JSON document so runs can be compared and kept. Compare against the bare
library doing the same work in the same run (a ratio), since absolute times on shared
machines are noise.

    from harness import Bench

    bench = Bench("queue")
    stats = bench.measure("enqueue", lambda: do_work(), repeats=5, warmup=1, units=1000)
    bench.report()
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


class Bench:
    """Collects measurements and prints them as JSON."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.results: dict[str, Any] = {}

    def measure(
        self,
        label: str,
        func: Callable[[], Any],
        *,
        repeats: int = 5,
        warmup: int = 1,
        units: float | None = None,
        unit_name: str = "ops",
    ) -> dict[str, Any]:
        """Time ``func`` ``repeats`` times after ``warmup`` untimed runs.

        Args:
            units: how many units of work one call does; gives a rate per second.
        """
        for _ in range(warmup):
            func()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
        stats = summarize(times)
        if units:
            stats[f"{unit_name}_per_s"] = round(units / stats["median_s"], 2)
        self.results[label] = stats
        return stats

    def record(self, label: str, value: Any) -> None:
        """Keep a figure measured some other way (a latency distribution, a score)."""
        self.results[label] = value

    def report(self) -> dict[str, Any]:
        """Print and return every result with the machine it ran on."""
        document = {
            "benchmark": self.name,
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "results": self.results,
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return document


def summarize(samples: list[float]) -> dict[str, Any]:
    """Return the median, spread and extremes of timing samples in seconds."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_s": round(statistics.median(ordered), 6),
        "min_s": round(ordered[0], 6),
        "max_s": round(ordered[-1], 6),
        "stdev_s": round(statistics.stdev(ordered), 6) if len(ordered) > 1 else 0.0,
    }


def percentiles(
    samples: list[float], points: tuple[int, ...] = (50, 90, 99)
) -> dict[str, float]:
    """Return the given percentiles of latency samples, in milliseconds."""
    if not samples:
        return {f"p{p}_ms": float("nan") for p in points}
    ordered = sorted(samples)
    out = {}
    for p in points:
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        out[f"p{p}_ms"] = round(ordered[index] * 1000, 3)
    return out
