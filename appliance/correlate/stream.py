"""Assign alerts to open clusters one at a time, as they arrive.

The streaming assigner runs the batch clusterer's passes incrementally: entity links
to the most recent alert per key, waves of one rule over the last window, and benign
recurrence known from what came before (a batch also knows what comes after). An
alert costs a few dictionary look-ups, never a re-clustering. A cluster closes when
no alert joined it for ``idle_ms``; what it held is forgotten, so memory follows the
open clusters, not the length of the stream.

Rule names are matched exactly here; differently worded names of one wave are
merged by the batch clusterer, which the worker runs over closed windows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from appliance.correlate.alerts import Alert
from appliance.correlate.clusterer import ClusterSettings, plausible_step
from appliance.correlate.linking import DisjointSet, Linker
from appliance.correlate.waves import classify, recurrence_key


@dataclass(frozen=True)
class Assignment:
    """Where one alert went: a cluster id, or None while it stands alone."""

    alert_id: str
    cluster_id: str | None
    evidence: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()
    benign: str | None = None


@dataclass
class _Open:
    """An open cluster: its id, members and when an alert last joined."""

    cluster_id: str
    members: list[int]
    last_ms: int


@dataclass
class StreamAssigner:
    """Cluster alerts as they arrive (see the module docstring)."""

    settings: ClusterSettings = field(default_factory=ClusterSettings)
    idle_ms: int = 2 * 3_600_000
    alerts: dict[int, Alert] = field(default_factory=dict)
    _sets: DisjointSet = field(default_factory=DisjointSet)
    _linker: Linker | None = None
    _open: dict[int, _Open] = field(default_factory=dict)
    _rules: dict[str, deque[int]] = field(default_factory=dict)
    _seen: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    _benign: set[int] = field(default_factory=set)
    _last_sweep_ms: int = 0
    closed: list[tuple[str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._linker = Linker(
            gap_ms=self.settings.gap_ms, weak_gap_ms=self.settings.weak_gap_ms
        )

    def assign(self, alert: Alert) -> Assignment:
        """Place one alert and return where it went."""
        index = self._sets.add()
        self.alerts[index] = alert
        self._sweep(alert.ts_ms)
        if self._recurring(alert):
            self._benign.add(index)
            return Assignment(alert.alert_id, None, benign="recurring")

        evidence: list[str] = []
        wave, benign = self._wave(index, alert)
        if benign:
            self._benign.update(wave)
            return Assignment(alert.alert_id, None, benign="rollout")
        partners = list(wave)
        if wave:
            evidence.append(f"rule {alert.name} on {len(wave)} hosts")
        assert self._linker is not None
        for link in self._linker.add(index, alert):
            if link.earlier in self._benign or link.earlier not in self.alerts:
                continue
            if link.weight < 0.5 and not plausible_step(
                self.alerts[link.earlier], alert
            ):
                continue
            partners.append(link.earlier)
            evidence.append(link.detail)

        return self._join(index, alert, partners, evidence)

    def _join(
        self, index: int, alert: Alert, partners: list[int], evidence: list[str]
    ) -> Assignment:
        """Union the alert with its partners; the oldest cluster keeps its id."""
        roots = {self._sets.find(p) for p in partners}
        if not roots:
            return Assignment(alert.alert_id, None)
        clusters = [self._open.pop(r) for r in roots if r in self._open]
        clusters.sort(key=lambda c: c.members[0])
        singles = sorted(r for r in roots if self._sets.size[r] == 1)
        for root in roots:
            self._sets.union(index, root)
        if clusters:
            keep = clusters[0]
        else:
            keep = _Open(f"clu-{self.alerts[singles[0]].alert_id}", [], 0)
        for other in clusters[1:]:
            keep.members.extend(other.members)
        keep.members.extend([*singles, index])
        keep.last_ms = alert.ts_ms
        self._open[self._sets.find(index)] = keep
        merged = tuple(c.cluster_id for c in clusters[1:])

        return Assignment(alert.alert_id, keep.cluster_id, tuple(evidence), merged)

    def _recurring(self, alert: Alert) -> bool:
        """Whether the alert repeats a rule on its host often and long enough."""
        key = recurrence_key(alert)
        if key is None:
            return False
        first, count = self._seen.get(key, (alert.ts_ms, 0))
        self._seen[key] = (first, count + 1)
        waves = self.settings.waves

        return (
            count + 1 >= waves.recurrence_min_count
            and alert.ts_ms - first >= waves.recurrence_min_span_ms
        )

    def _wave(self, index: int, alert: Alert) -> tuple[list[int], bool]:
        """Return the recent alerts of this rule that form a wave with it."""
        waves = self.settings.waves
        recent = self._rules.setdefault(alert.rule_key, deque())
        while recent and (
            recent[0] not in self.alerts
            or alert.ts_ms - self.alerts[recent[0]].ts_ms > waves.gap_ms
        ):
            recent.popleft()
        marks = set(alert.remote_ips) | {alert.causality}
        peers = [
            i
            for i in recent
            if marks & (set(self.alerts[i].remote_ips) | {self.alerts[i].causality})
        ]
        recent.append(index)
        group = [self.alerts[i] for i in [*peers, index]]
        targets, _, benign = classify(group, range(len(group)))
        if targets < waves.min_targets:
            return [], False

        return peers, benign

    def _sweep(self, now_ms: int) -> None:
        """Close clusters idle for ``idle_ms`` and forget what only they needed."""
        if now_ms - self._last_sweep_ms < self.idle_ms // 4:
            return
        self._last_sweep_ms = now_ms
        horizon = now_ms - self.idle_ms
        for root, cluster in list(self._open.items()):
            if cluster.last_ms < horizon:
                del self._open[root]
                ids = [self.alerts[m].alert_id for m in cluster.members]
                self.closed.append((cluster.cluster_id, ids))
        assert self._linker is not None
        self._linker.forget_before(horizon)
        keep = {m for c in self._open.values() for m in c.members}
        for i in [i for i, a in self.alerts.items() if a.ts_ms < horizon]:
            if i not in keep:
                del self.alerts[i]
                self._benign.discard(i)
        self._rules = {
            k: v for k, v in self._rules.items() if v and v[-1] in self.alerts
        }

    def open_clusters(self) -> dict[str, list[str]]:
        """Return the open clusters: id and member alert ids."""
        return {
            c.cluster_id: [self.alerts[m].alert_id for m in c.members]
            for c in self._open.values()
        }
