"""Turn clusters into grouped-incident suggestions an analyst can judge at a glance.

A suggestion carries a proposed title, the highest severity of its alerts, a
confidence, and the evidence that links its alerts, in words ("same user alice on 3
hosts within 40 minutes; tactics Initial Access -> Execution -> Lateral Movement").

Confidence combines the independent kinds of evidence (an entity chain, a wave,
lateral movement, a shared hash) as ``1 - prod(1 - weight)``, adds a little for a
clean kill-chain progression, and takes a little off a two-alert cluster held by one
weak link. Noise alerts get a confidence too: how sure it is that they stand alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from appliance.correlate.alerts import Alert
from appliance.correlate.attack import progression, tactic_path
from appliance.correlate.clusterer import Cluster, Clustering

NOISE_CONFIDENCE = {"recurring": 0.9, "rollout": 0.9, "unlinked": 0.75}
_SEVERITIES = ("unknown", "informational", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class Suggestion:
    """A proposed grouped incident."""

    cluster_id: str
    title: str
    severity: str
    confidence: float
    evidence: tuple[str, ...]
    alert_ids: tuple[str, ...]
    hosts: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    first_ms: int = 0
    last_ms: int = 0
    incident_ids: tuple[str, ...] = field(default=())

    @property
    def rationale(self) -> str:
        """Return the evidence as one sentence."""
        return "; ".join(self.evidence)


def _minutes(span_ms: int) -> str:
    """Return a time span in words."""
    minutes = max(1, round(span_ms / 60_000))
    if minutes < 120:
        return f"{minutes} minutes"

    return f"{minutes / 60:.1f} hours"


def _confidence(cluster: Cluster, members: Sequence[Alert]) -> float:
    """Return the confidence of a cluster from its evidence (module docstring)."""
    strongest: dict[str, float] = {}
    for link in cluster.links:
        strongest[link.kind] = max(strongest.get(link.kind, 0.0), link.weight)
    for wave in cluster.waves:
        strongest["wave"] = min(0.6 + 0.02 * wave.targets, 0.9)
    doubt = 1.0
    for weight in strongest.values():
        doubt *= 1 - weight
    confidence = 1 - doubt
    confidence += 0.05 * (progression(a.tactics for a in members) - 0.5)
    if len(members) == 2 and set(strongest) == {"session"}:
        confidence -= 0.1

    return round(min(max(confidence, 0.05), 0.99), 3)


def _evidence(cluster: Cluster, members: Sequence[Alert]) -> list[str]:
    """Return the linking evidence of a cluster in words, strongest first."""
    span = members[-1].ts_ms - members[0].ts_ms
    hosts = sorted({a.host for a in members if a.host})
    users = Counter(a.user for a in members if a.user)
    lines: list[str] = []
    for wave in cluster.waves:
        lines.append(
            f"rule {wave.rule} on {wave.targets} {_unit(members)} "
            f"({wave.accounts} accounts) within {_minutes(wave.span_ms)}"
        )
    if users and len(users) == 1 and len(hosts) > 1:
        user = next(iter(users))
        lines.append(f"same user {user} on {len(hosts)} hosts within {_minutes(span)}")
    for detail in dict.fromkeys(
        link.detail for link in cluster.links if link.kind != "chain"
    ):
        if len(lines) >= 6:
            break
        lines.append(detail)
    chains = dict.fromkeys(
        link.detail for link in cluster.links if link.kind == "chain"
    )
    lines.extend(list(chains)[:2])
    if not lines:
        lines.append(f"{len(members)} alerts within {_minutes(span)}")
    path = tactic_path(a.tactics for a in members)
    if len(path) > 1:
        lines.append("tactics " + " -> ".join(path))

    return lines


def _unit(members: Sequence[Alert]) -> str:
    """Return what a wave spread over: hosts, or accounts for identity alerts."""
    return "hosts" if any(a.host for a in members) else "accounts"


def _title(cluster: Cluster, members: Sequence[Alert]) -> str:
    """Return a short proposed title for the grouped incident."""
    hosts = list(dict.fromkeys(a.host for a in members if a.host))
    users = sorted({a.user for a in members if a.user})
    path = tactic_path(a.tactics for a in members)
    stages = f" ({path[0]} -> {path[-1]})" if path and path[0] != path[-1] else ""
    if cluster.waves:
        wave = max(cluster.waves, key=lambda w: w.targets)
        return f"Wave: {wave.rule} on {wave.targets} {_unit(members)}"
    if any(link.kind == "lateral" for link in cluster.links):
        return f"Lateral movement across {len(hosts)} hosts from {hosts[0]}{stages}"
    if not hosts and users:
        return f"Account {users[0]} activity chain{stages}"
    if len(hosts) == 1:
        return f"Attack chain on {hosts[0]}{stages}"
    top = max(members, key=lambda a: a.severity_rank)

    return f"{top.name} and {len(members) - 1} related alerts{stages}"


def suggest(clustering: Clustering) -> list[Suggestion]:
    """Return one suggestion per cluster, in the order of their first alert."""
    suggestions = []
    for cluster in clustering.clusters:
        members = [clustering.alerts[i] for i in sorted(cluster.members)]
        severity = max(members, key=lambda a: a.severity_rank).severity
        suggestions.append(
            Suggestion(
                cluster_id=f"clu-{members[0].alert_id}",
                title=_title(cluster, members)[:200],
                severity=severity if severity in _SEVERITIES else "unknown",
                confidence=_confidence(cluster, members),
                evidence=tuple(_evidence(cluster, members)),
                alert_ids=tuple(a.alert_id for a in members),
                hosts=tuple(sorted({a.host for a in members if a.host})),
                users=tuple(sorted({a.user for a in members if a.user})),
                first_ms=members[0].ts_ms,
                last_ms=members[-1].ts_ms,
            )
        )

    return suggestions


def assignments(
    clustering: Clustering, suggestions: Sequence[Suggestion]
) -> list[dict[str, object]]:
    """Return one ``{"alert_id", "cluster_id", "confidence"}`` row per alert.

    ``cluster_id`` is None for noise, whose confidence says how sure it is that the
    alert stands alone.
    """
    placed: dict[int, Suggestion] = {}
    for cluster, suggestion in zip(clustering.clusters, suggestions, strict=True):
        for i in cluster.members:
            placed[i] = suggestion
    rows: list[dict[str, object]] = []
    for i, alert in enumerate(clustering.alerts):
        if i not in placed:
            reason = clustering.noise.get(i, "unlinked")
            rows.append(
                {
                    "alert_id": alert.alert_id,
                    "cluster_id": None,
                    "confidence": NOISE_CONFIDENCE.get(reason, 0.75),
                }
            )
        else:
            rows.append(
                {
                    "alert_id": alert.alert_id,
                    "cluster_id": placed[i].cluster_id,
                    "confidence": placed[i].confidence,
                }
            )

    return rows
