"""Link alerts that share what an attacker carries from one step to the next.

One pass over alerts in time order; each alert is compared only with the most recent
alert that holds the same key, so the work per alert is a few dictionary look-ups
whatever the stream's size. The keys, strongest first:

- the same host, user and causality actor (the process chain an attack runs in);
- the same account from the same remote IP, for identity alerts without a host
  (cloud sign-ins, SaaS);
- the same file or process hash, or the same external domain;
- lateral movement: an alert whose command line, file path or remote IP names another
  host, linked to that host's alerts that share its user or causality actor.

Two alerts link only when they are close in time (``gap_ms``, measured between
consecutive links, so a chain can last longer than the gap).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from appliance.correlate.alerts import Alert

_TOKEN = re.compile(r"[a-z0-9][a-z0-9._\-]{2,}")


@dataclass(frozen=True, slots=True)
class Link:
    """Evidence that two alerts belong together."""

    earlier: int
    later: int
    kind: str
    detail: str
    weight: float


class DisjointSet:
    """Union-find over alert positions, with path halving and union by size."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.size: list[int] = []

    def add(self) -> int:
        """Add a singleton set and return its element."""
        self.parent.append(len(self.parent))
        self.size.append(1)

        return len(self.parent) - 1

    def find(self, x: int) -> int:
        """Return the representative of ``x``'s set."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]

        return x

    def union(self, a: int, b: int) -> int:
        """Merge the sets of ``a`` and ``b`` and return the new representative."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]

        return ra


def chain_keys(alert: Alert) -> Iterator[tuple[tuple[str, ...], str, float]]:
    """Yield ``(key, evidence in words, weight)`` for each entity key of an alert."""
    if alert.host and alert.user and alert.causality:
        yield (
            ("chain", alert.host, alert.user, alert.causality),
            f"same host {alert.host}, user {alert.user} and parent process "
            f"{alert.causality}",
            0.8,
        )
    if not alert.host and alert.user:
        for ip in alert.remote_ips:
            yield (
                ("identity", alert.user, ip),
                f"same account {alert.user} from {ip}",
                0.8,
            )
    if alert.host and alert.user:
        yield (
            ("session", alert.host, alert.user),
            f"same host {alert.host} and user {alert.user}",
            0.3,
        )
    for digest in alert.hashes:
        yield ("hash", digest), f"same file hash {digest[:12]}", 0.7
    for domain in alert.domains:
        yield ("domain", domain), f"same domain {domain}", 0.5


@dataclass
class Linker:
    """Find links for alerts fed in time order; remembers only what can still link."""

    gap_ms: int
    weak_gap_ms: int = 0
    _last: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    _hosts: dict[str, str] = field(default_factory=dict)
    _on_host: dict[str, list[tuple[int, int, Alert]]] = field(default_factory=dict)
    _referenced: dict[str, list[tuple[int, int, Alert]]] = field(default_factory=dict)

    def add(self, index: int, alert: Alert) -> list[Link]:
        """Return the links of a new alert to earlier ones, and remember it."""
        links: list[Link] = []
        ts = alert.ts_ms
        for key, detail, weight in chain_keys(alert):
            seen = self._last.get(key)
            limit = self.weak_gap_ms if weight < 0.5 else self.gap_ms
            if seen is not None and ts - seen[1] <= limit:
                links.append(Link(seen[0], index, key[0], detail, weight))
            self._last[key] = (index, ts)
        if alert.host:
            links.extend(self._lateral(index, alert))

        return links

    def _lateral(self, index: int, alert: Alert) -> list[Link]:
        """Link across hosts where one alert names the other's host."""
        host = alert.host
        assert host is not None
        self._hosts[host] = host
        if alert.host_ip:
            self._hosts[alert.host_ip] = host
        links: list[Link] = []

        # Alerts on this host after another host's alert pointed at it.
        for earlier, _ts, source in self._recent(self._referenced.get(host), alert):
            if _related(source, alert):
                links.append(self._lateral_link(earlier, index, source, alert))
                break
        self._remember(self._on_host, host, index, alert)

        # This alert pointing at another host: link to that host's recent alerts.
        for target in self._targets(alert):
            for earlier, _ts, other in self._recent(self._on_host.get(target), alert):
                if _related(other, alert):
                    links.append(self._lateral_link(earlier, index, alert, other))
                    break
            self._remember(self._referenced, target, index, alert)

        return links

    def _targets(self, alert: Alert) -> set[str]:
        """Return the other known hosts an alert's artifacts or remote IPs name."""
        tokens = set(_TOKEN.findall(alert.artifacts))
        tokens.update(alert.remote_ips)
        found = {self._hosts[t] for t in tokens if t in self._hosts}
        found.discard(alert.host or "")

        return found

    def _recent(
        self, entries: list[tuple[int, int, Alert]] | None, alert: Alert
    ) -> Iterator[tuple[int, int, Alert]]:
        """Yield remembered entries within the gap, newest first."""
        if not entries:
            return
        for earlier, ts, other in reversed(entries):
            if alert.ts_ms - ts > self.gap_ms:
                return
            yield earlier, ts, other

    def _remember(
        self,
        table: dict[str, list[tuple[int, int, Alert]]],
        key: str,
        index: int,
        alert: Alert,
    ) -> None:
        """Append an entry and drop the ones that can no longer link."""
        entries = table.setdefault(key, [])
        entries.append((index, alert.ts_ms, alert))
        while entries and alert.ts_ms - entries[0][1] > self.gap_ms:
            entries.pop(0)

    @staticmethod
    def _lateral_link(earlier: int, later: int, source: Alert, target: Alert) -> Link:
        """Return the evidence of a lateral movement link."""
        detail = f"movement from {source.host} to {target.host}"
        if source.host == target.host or earlier > later:
            earlier, later = min(earlier, later), max(earlier, later)

        return Link(earlier, later, "lateral", detail, 0.7)

    def forget_before(self, ts_ms: int) -> None:
        """Drop keys last seen before ``ts_ms`` (bounds memory in long streams)."""
        self._last = {k: v for k, v in self._last.items() if v[1] >= ts_ms}
        for table in (self._on_host, self._referenced):
            for key in [k for k, v in table.items() if not v or v[-1][1] < ts_ms]:
                del table[key]


def _related(a: Alert, b: Alert) -> bool:
    """Whether two alerts on different hosts share an account or causality actor."""
    return bool(
        (a.user and a.user == b.user) or (a.causality and a.causality == b.causality)
    )
