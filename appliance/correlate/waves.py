"""Find waves (one rule across many hosts at once) and tell benign repetition apart.

Three patterns repeat one detection rule, and only one of them is an attack:

- an attack wave: a phishing mail opened on many desks, a tool pushed to many hosts by
  a stolen admin account, a password spray over many accounts. Many hosts or accounts,
  within minutes, sharing a parent process or a remote IP, and several accounts;
- a fleet-wide benign rollout: a software or policy deployment fires a rule on many
  hosts at once, under one service account, started by a management agent;
- benign recurrence: the same rule on the same host again and again over a day or
  more (a scheduled task, a backup job).

Recurrence and rollouts are noise; their alerts link to nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.correlate.alerts import Alert
from appliance.correlate.embeddings import EmbeddingCache

# Parents that deploy software and policy across a fleet.
MANAGEMENT_AGENTS = frozenset(
    {
        "ccmexec.exe",
        "gpscript.exe",
        "svchost.exe",
        "services.exe",
        "msiexec.exe",
        "taskeng.exe",
        "microsoft.management.services.intunewindowsagent.exe",
        "besclient.exe",
        "taniumclient.exe",
        "jamf",
        "jamfagent",
        "puppet",
        "chef-client",
        "salt-minion",
        "ansible-playbook",
    }
)
_SERVICE_PREFIXES = ("svc_", "svc-", "sa_", "sa-", "srv_", "service")
_HOUR_MS = 3_600_000
_WORD = re.compile(r"[a-z0-9]+")
# Words that rule names of every kind use; sharing one says nothing.
_GENERIC_WORDS = frozenset(
    {
        "suspicious",
        "possible",
        "potential",
        "unusual",
        "activity",
        "detected",
        "detection",
        "behavior",
        "observed",
        "execution",
        "process",
        "file",
        "files",
        "windows",
        "linux",
        "using",
        "from",
        "with",
        "via",
        "creation",
        "created",
        "command",
        "line",
        "attempt",
        "access",
        "new",
        "user",
        "account",
        "alert",
    }
)


# Words that hedge or report a detection rather than name it. Products wrap one
# detection in them differently ("Possible X", "X activity detected"), and on a short
# name they weigh more in an embedding than the subject does: all-MiniLM-L6-v2 puts
# "Possible Native API" and "Native API activity detected" at 0.57.
_HEDGES = frozenset(
    {
        "suspicious",
        "possible",
        "potential",
        "probable",
        "likely",
        "unusual",
        "anomalous",
        "abnormal",
        "activity",
        "behavior",
        "behaviour",
        "detected",
        "observed",
        "alert",
    }
)
_WORDS_AND_GAPS = re.compile(r"\w+|\W+")


@dataclass(frozen=True)
class WaveSettings:
    """Thresholds of wave and recurrence detection."""

    gap_ms: int = 30 * 60_000
    min_targets: int = 4
    recurrence_min_count: int = 3
    recurrence_min_span_ms: int = 12 * _HOUR_MS


@dataclass(frozen=True)
class Wave:
    """One rule firing across many hosts or accounts within a window."""

    members: tuple[int, ...]
    rule: str
    targets: int
    accounts: int
    span_ms: int
    benign: bool


def is_service_account(user: str | None) -> bool:
    """Whether an account name looks like a service account."""
    if not user:
        return False

    return user.startswith(_SERVICE_PREFIXES) or user.endswith("$")


def recurrence_key(alert: Alert) -> tuple[str, ...] | None:
    """Return what stays the same when a benign job fires again on a host.

    The rule, the host (or the account for host-less alerts), the account and the
    parent process: a scheduled task or backup runs the same way each time, while
    two attacks that trip one rule on one host differ in account or parent.
    """
    where = alert.host or alert.user
    if not where:
        return None

    return (where, alert.rule_key, alert.user or "", alert.causality or "")


def recurring(alerts: Sequence[Alert], settings: WaveSettings) -> set[int]:
    """Return the positions of alerts that repeat one job on one host (benign).

    A :func:`recurrence_key` counts as recurring when it fired at least
    ``recurrence_min_count`` times spread over ``recurrence_min_span_ms``.
    """
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, alert in enumerate(alerts):
        key = recurrence_key(alert)
        if key is not None:
            groups[key].append(i)
    found: set[int] = set()
    for members in groups.values():
        if len(members) < settings.recurrence_min_count:
            continue
        span = alerts[members[-1]].ts_ms - alerts[members[0]].ts_ms
        if span >= settings.recurrence_min_span_ms:
            found.update(members)

    return found


def _signature_groups(alerts: Sequence[Alert], run: list[int]) -> list[list[int]]:
    """Split a run of one rule into groups that share a parent process or remote IP."""
    parent = {i: i for i in run}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple[str, str], int] = {}
    for i in run:
        alert = alerts[i]
        keys = [("ip", ip) for ip in alert.remote_ips]
        if alert.causality:
            keys.append(("parent", alert.causality))
        if not keys:
            keys.append(("none", ""))
        for key in keys:
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    groups: dict[int, list[int]] = defaultdict(list)
    for i in run:
        groups[find(i)].append(i)

    return list(groups.values())


def classify(alerts: Sequence[Alert], members: Sequence[int]) -> tuple[int, int, bool]:
    """Return ``(targets, accounts, benign)`` for a group of one rule's alerts.

    Targets are hosts (accounts for host-less identity alerts). A group is a benign
    rollout when one service account, or one account under a management agent, did
    it everywhere.
    """
    hosts = {alerts[i].host for i in members if alerts[i].host}
    users = {alerts[i].user for i in members if alerts[i].user}
    targets = len(hosts) if hosts else len(users)
    parents = {alerts[i].causality for i in members}
    managed = bool(parents) and parents <= MANAGEMENT_AGENTS
    single = len(users) == 1
    benign = (
        bool(hosts) and single and (is_service_account(next(iter(users))) or managed)
    )

    return targets, len(users), benign


def find_waves(
    alerts: Sequence[Alert], settings: WaveSettings, skip: set[int]
) -> list[Wave]:
    """Return the waves in a time-ordered batch, attack waves and benign rollouts."""
    by_rule: dict[str, list[int]] = defaultdict(list)
    for i, alert in enumerate(alerts):
        if i not in skip and alert.rule_key:
            by_rule[alert.rule_key].append(i)
    waves: list[Wave] = []
    for positions in by_rule.values():
        if len(positions) < settings.min_targets:
            continue
        for run in _runs(alerts, positions, settings.gap_ms):
            if len(run) < settings.min_targets:
                continue
            for group in _signature_groups(alerts, run):
                targets, accounts, benign = classify(alerts, group)
                if targets < settings.min_targets:
                    continue
                span = alerts[group[-1]].ts_ms - alerts[group[0]].ts_ms
                waves.append(
                    Wave(
                        tuple(group),
                        alerts[group[0]].name,
                        targets,
                        accounts,
                        span,
                        benign,
                    )
                )

    return waves


def find_variant_waves(
    alerts: Sequence[Alert],
    waves: Sequence[Wave],
    candidates: Sequence[int],
    settings: WaveSettings,
    cache: EmbeddingCache,
    threshold: float = 0.75,
) -> list[Wave]:
    """Return the waves again, merged and grown where rule names differ in words only.

    Products and rule versions word one detection differently ("Possible X", "X
    activity detected"), so exact names split a wave or miss it. Attack waves and
    candidates (in runs that share a parent process or remote IP on enough hosts)
    that share a parent or IP within the wave window join when their names mean the
    same (the embeddings of their :func:`detection_subject` at least ``threshold``
    alike); a merged group is a wave when it holds a wave or reaches enough hosts.
    Only names in such places are embedded, all in one call.
    """
    units: list[tuple[tuple[int, ...], str]] = [
        (w.members, w.rule) for w in waves if not w.benign
    ]
    in_runs = sorted(
        {i for run in _candidate_runs(alerts, candidates, settings) for i in run}
    )
    units += [((i,), alerts[i].name) for i in in_runs]
    if len(units) < 2:
        return list(waves)
    ordered = sorted({name for _, name in units})
    vectors = cache.vectors([detection_subject(name) for name in ordered])
    row = {name: k for k, name in enumerate(ordered)}
    parent = list(range(len(units)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_mark: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, (members, _) in enumerate(units):
        for mark in set().union(*(_signature(alerts[i]) for i in members)):
            by_mark[mark].append(n)
    for bucket in by_mark.values():
        bucket.sort(key=lambda n: alerts[units[n][0][0]].ts_ms)
        for x, a in enumerate(bucket):
            a_end = alerts[units[a][0][-1]].ts_ms + settings.gap_ms
            for b in bucket[x + 1 :]:
                if alerts[units[b][0][0]].ts_ms > a_end:
                    break
                va, vb = vectors[row[units[a][1]]], vectors[row[units[b][1]]]
                if float(va @ vb) >= threshold:
                    parent[find(b)] = find(a)

    groups: dict[int, list[int]] = defaultdict(list)
    for n in range(len(units)):
        groups[find(n)].append(n)
    merged = [w for w in waves if w.benign]
    wave_units = sum(1 for w in waves if not w.benign)
    for unit_ids in groups.values():
        joined = sorted({i for n in unit_ids for i in units[n][0]})
        targets, accounts, benign = classify(alerts, joined)
        has_wave = any(n < wave_units for n in unit_ids)
        if not has_wave and targets < settings.min_targets:
            continue
        span = alerts[joined[-1]].ts_ms - alerts[joined[0]].ts_ms
        rule = units[min(unit_ids)][1]
        merged.append(Wave(tuple(joined), rule, targets, accounts, span, benign))

    return merged


def detection_subject(name: str) -> str:
    """Return a rule name without the words that hedge it ("Possible", "detected").

    What is left says what the rule detects; a name made of hedges only is kept whole.
    """
    kept = [
        piece
        for piece in _WORDS_AND_GAPS.findall(name)
        if piece.casefold() not in _HEDGES
    ]
    subject = " ".join("".join(kept).split())

    return subject or name


def _signature(alert: Alert) -> set[tuple[str, str]]:
    """Return what a wave's alerts share: the parent process and remote IPs."""
    marks = {("ip", ip) for ip in alert.remote_ips}
    if alert.causality:
        marks.add(("parent", alert.causality))

    return marks


def _candidate_runs(
    alerts: Sequence[Alert], candidates: Sequence[int], settings: WaveSettings
) -> list[list[int]]:
    """Return runs of candidates that share a parent or IP on enough hosts at once."""
    by_signature: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in candidates:
        for mark in _signature(alerts[i]):
            by_signature[mark].append(i)
    found = []
    for positions in by_signature.values():
        for run in _runs(alerts, sorted(positions), settings.gap_ms):
            run = _sharing_words(alerts, run)
            if len(run) < settings.min_targets:
                continue
            if classify(alerts, run)[0] >= settings.min_targets:
                found.append(run)

    return found


def content_words(name: str) -> frozenset[str]:
    """Return the words of a rule name that say what it detects."""
    words = _WORD.findall(name.casefold())

    return frozenset(w for w in words if len(w) >= 4 and w not in _GENERIC_WORDS)


def _sharing_words(alerts: Sequence[Alert], run: list[int]) -> list[int]:
    """Keep alerts whose name shares a content word with a different name in the run.

    A cheap filter before embedding: rewordings of one rule keep its key words, and
    a run of unrelated alerts under a common parent mostly shares none.
    """
    names = {alerts[i].name for i in run}
    if len(names) < 2:
        return []
    holders: dict[str, set[str]] = defaultdict(set)
    for name in names:
        for word in content_words(name):
            holders[word].add(name)
    kept = {n for group in holders.values() if len(group) > 1 for n in group}

    return [i for i in run if alerts[i].name in kept]


def _runs(
    alerts: Sequence[Alert], positions: list[int], gap_ms: int
) -> list[list[int]]:
    """Split time-ordered positions where consecutive ones are over ``gap_ms`` apart."""
    runs: list[list[int]] = []
    for i in positions:
        if not runs or alerts[i].ts_ms - alerts[runs[-1][-1]].ts_ms > gap_ms:
            runs.append([])
        runs[-1].append(i)

    return runs
