"""The in-memory state of the local Cortex XDR sandbox tenant.

It holds incidents in the shape of ``get_incident_extra_data`` replies, the comments
and changes written to them, and counts every write per incident, so a test can prove
that each write-back arrived exactly once.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

SAMPLE_PACKAGE = "appliance.xdr.sandbox_data"


def now_ms() -> int:
    """Return the time in milliseconds, as XDR stamps it."""
    return int(time.time() * 1000)


def load_samples() -> list[dict[str, Any]]:
    """Return the shipped sample incidents (extra-data replies), by incident id."""
    samples = []
    for entry in sorted(resources.files(SAMPLE_PACKAGE).iterdir(), key=str):
        if entry.name.endswith(".json"):
            samples.append(json.loads(entry.read_text(encoding="utf-8"))["reply"])

    return samples


@dataclass
class ApiKey:
    """A key the sandbox accepts."""

    key_id: str
    key: str
    key_type: str = "advanced"


@dataclass
class SandboxTenant:
    """Incidents, comments and write counts of one sandbox tenant."""

    keys: dict[str, ApiKey] = field(default_factory=dict)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)
    writes: Counter[str] = field(default_factory=Counter)
    updated_alerts: Counter[str] = field(default_factory=Counter)
    inserted_alerts: list[dict[str, Any]] = field(default_factory=list)
    xql_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_key(self, key_id: str, key: str, key_type: str = "advanced") -> None:
        """Accept an API key."""
        self.keys[key_id] = ApiKey(key_id, key, key_type)

    def add_incident(self, extra: dict[str, Any]) -> str:
        """Store an incident (an extra-data reply); return its id."""
        incident_id = str(extra["incident"]["incident_id"])
        with self.lock:
            self.incidents[incident_id] = copy.deepcopy(extra)
            self.comments.setdefault(incident_id, [])

        return incident_id

    def load_samples(self) -> list[str]:
        """Add the shipped sample incidents; return their ids."""
        return [self.add_incident(sample) for sample in load_samples()]

    def add_copies(self, count: int, first_id: int = 1000) -> list[str]:
        """Add ``count`` incidents copied from the samples, with fresh ids and times."""
        samples = load_samples()
        ids = []
        stamp = now_ms()
        for n in range(count):
            extra = copy.deepcopy(samples[n % len(samples)])
            incident_id = str(first_id + n)
            extra["incident"]["incident_id"] = incident_id
            extra["incident"]["creation_time"] = stamp - 60_000
            extra["incident"]["modification_time"] = stamp + n
            for offset, alert in enumerate(extra["alerts"]["data"]):
                alert["alert_id"] = f"{incident_id}{offset:03d}"
                alert["case_id"] = int(incident_id)
            ids.append(self.add_incident(extra))

        return ids

    def touch(self, incident_id: str) -> None:
        """Set an incident's modification time to now (as any change does in XDR)."""
        with self.lock:
            self.incidents[incident_id]["incident"]["modification_time"] = now_ms()

    def all_alerts(self) -> list[dict[str, Any]]:
        """Return every alert of every incident."""
        with self.lock:
            return [
                alert
                for extra in self.incidents.values()
                for alert in extra["alerts"]["data"]
            ]
