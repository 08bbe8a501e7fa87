"""Cluster a batch of alerts into attack campaigns, leaving noise alone.

The algorithm is graph connectivity over evidence edges, not a distance-based method,
and the choice was made on the labelled development stream and on generated streams
of other shapes (``scripts/bench/bench_cluster.py`` prints all figures):

- Embedding the alert text and running DBSCAN (the usual first idea) scores an
  adjusted Rand index of about 0.26 and glues nearly all noise into clusters: two
  unrelated alerts from the same rule family read alike, and two steps of one attack
  (a phishing document, then credential dumping) read nothing alike. Text similarity
  says what kind of alert it is, not which attack it belongs to.
- "Same host or user within 30 minutes" scores 0.37: a busy host's unrelated alerts
  chain together, and lateral movement and waves are missed.
- What does tie an attack together is what the attacker carries from step to step:
  the process chain (host, account and causality actor), the account and source IP of
  an identity, hashes and domains, a command line naming the next host, and, for
  waves, one rule with one parent or source IP on many hosts at once. Each is an edge
  with a weight (:mod:`appliance.correlate.linking`, :mod:`appliance.correlate.waves`);
  a cluster is a connected component of two or more alerts.
- Hard negatives are removed before linking: the same rule on the same host recurring
  over a day or more, and fleet-wide rollouts (one service account or management
  agent firing one rule everywhere) link to nothing.

With embeddings, waves whose rule names differ only in wording ("Possible X", "X
activity detected") merge (:func:`appliance.correlate.waves.find_variant_waves`)
before linking, so a follow-up wave is judged against the whole merged wave. On
generated streams where half of each wave's alerts carry another wording, this lifts
the adjusted Rand index from about 0.50 (exact names only) to 0.98.

That is the only use of semantic similarity (all-MiniLM-L6-v2): as the first point
says, it tells what kind of alert it is, not which attack it belongs to. Only names in
wave-shaped places are embedded, once per distinct name (cached), and a suggestion's
confidence comes from the linking evidence (:mod:`appliance.correlate.suggestions`).

Every step is a pass over time-ordered alerts with dictionary look-ups, so a batch
costs O(n log n) and the same code serves the streaming assigner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from appliance.correlate.alerts import Alert
from appliance.correlate.embeddings import EmbeddingCache
from appliance.correlate.linking import DisjointSet, Link, Linker
from appliance.correlate.waves import (
    Wave,
    WaveSettings,
    find_variant_waves,
    find_waves,
    recurring,
)


@dataclass(frozen=True)
class ClusterSettings:
    """Tuning of the clusterer (defaults chosen on evidence, see the module doc)."""

    gap_ms: int = 30 * 60_000
    weak_gap_ms: int = 10 * 60_000
    waves: WaveSettings = field(default_factory=WaveSettings)


@dataclass
class Cluster:
    """A group of alerts that belong to one campaign, with the evidence that ties it."""

    members: list[int]
    links: list[Link] = field(default_factory=list)
    waves: list[Wave] = field(default_factory=list)


@dataclass
class Clustering:
    """The outcome for one batch: clusters, and why each noise alert is noise."""

    alerts: Sequence[Alert]
    clusters: list[Cluster]
    noise: dict[int, str]

    def cluster_of(self) -> dict[int, int]:
        """Return the cluster number of every clustered alert position."""
        return {m: n for n, c in enumerate(self.clusters) for m in c.members}


def cluster_alerts(
    alerts: Sequence[Alert],
    settings: ClusterSettings | None = None,
    embeddings: EmbeddingCache | None = None,
) -> Clustering:
    """Cluster time-ordered alerts (see the module docstring for how).

    Args:
        alerts: normalized alerts sorted by detection time.
        settings: thresholds; the defaults suit XDR alert streams.
        embeddings: when given, also find waves of differently worded rule names.
    """
    settings = settings or ClusterSettings()
    benign: dict[int, str] = {}
    for i in recurring(alerts, settings.waves):
        benign[i] = "recurring"
    waves = find_waves(alerts, settings.waves, set(benign))
    for wave in waves:
        if wave.benign:
            for i in wave.members:
                benign[i] = "rollout"

    if embeddings is not None:
        # A reworded wave's alerts can be anywhere: alone, beside their own
        # follow-ups, or in a wave already (which also shows how dense it is in time).
        # Merged before linking, so a follow-up wave (the second rule of a phishing
        # wave, on the same hosts) is judged against the whole merged wave.
        candidates = [i for i in range(len(alerts)) if i not in benign]
        waves = find_variant_waves(
            alerts, waves, candidates, settings.waves, embeddings
        )
        for wave in waves:
            if wave.benign:
                benign.update(dict.fromkeys(wave.members, "rollout"))
    sets, links = _link(alerts, settings, benign, waves)
    attack_waves = [w for w in waves if not w.benign]
    for wave in attack_waves:
        for i in wave.members[1:]:
            sets.union(wave.members[0], i)

    return _collect(alerts, sets, links, attack_waves, benign)


def _link(
    alerts: Sequence[Alert],
    settings: ClusterSettings,
    benign: dict[int, str],
    waves: list[Wave],
) -> tuple[DisjointSet, list[Link]]:
    """Union alerts along entity links; return the sets and the links used.

    Two waves of different rules join only when most hosts of the smaller one link
    to the other (a follow-up wave of one campaign); a few coincidences on shared
    hosts are not enough, since busy hosts see several waves.
    """
    sets = DisjointSet()
    for _ in alerts:
        sets.add()
    wave_of = {i: n for n, w in enumerate(waves) if not w.benign for i in w.members}
    links: list[Link] = []
    weak: list[Link] = []
    across: dict[tuple[int, int], list[Link]] = defaultdict(list)
    linker = Linker(gap_ms=settings.gap_ms, weak_gap_ms=settings.weak_gap_ms)
    for i, alert in enumerate(alerts):
        if i in benign:
            continue
        for link in linker.add(i, alert):
            if link.earlier in benign:
                continue
            pair = (wave_of.get(link.earlier, -1), wave_of.get(i, -1))
            if min(pair) >= 0 and pair[0] != pair[1]:
                if link.weight >= 0.5:
                    across[(min(pair), max(pair))].append(link)
            elif link.weight < 0.5:
                weak.append(link)
            else:
                sets.union(link.earlier, link.later)
                links.append(link)
    for (a, b), joining in across.items():
        hosts = {alerts[link.later].host for link in joining}
        if 2 * len(hosts) >= min(waves[a].targets, waves[b].targets):
            for link in joining:
                sets.union(link.earlier, link.later)
                links.append(link)
    for link in weak:
        if sets.find(link.earlier) != sets.find(link.later) and plausible_step(
            alerts[link.earlier], alerts[link.later]
        ):
            sets.union(link.earlier, link.later)
            links.append(link)

    return sets, links


def plausible_step(earlier: Alert, later: Alert) -> bool:
    """Whether ``later`` can be the next step of an attack after ``earlier``.

    Used for the weak link (same host and account, a different parent process): it
    holds only when the kill chain stays or moves forward.
    """
    return bool(
        earlier.tactics and later.tactics and later.tactics[0] >= earlier.tactics[0]
    )


def _collect(
    alerts: Sequence[Alert],
    sets: DisjointSet,
    links: list[Link],
    waves: list[Wave],
    benign: dict[int, str],
) -> Clustering:
    """Turn the components of the link graph into clusters and noise."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(alerts)):
        groups[sets.find(i)].append(i)
    clusters: dict[int, Cluster] = {}
    noise: dict[int, str] = {}
    for root, members in groups.items():
        if len(members) < 2:
            noise[members[0]] = benign.get(members[0], "unlinked")
        else:
            clusters[root] = Cluster(members=members)
    for link in links:
        cluster = clusters.get(sets.find(link.earlier))
        if cluster is not None:
            cluster.links.append(link)
    for wave in waves:
        cluster = clusters.get(sets.find(wave.members[0]))
        if cluster is not None:
            cluster.waves.append(wave)
    ordered = sorted(clusters.values(), key=lambda c: c.members[0])

    return Clustering(alerts=alerts, clusters=ordered, noise=noise)
