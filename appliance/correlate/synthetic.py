"""Generate labelled, XDR-shaped alert streams of any shape, to test correlation.

A clusterer tuned on one labelled stream can learn that stream instead of the
problem. This generator builds streams with other structure (host and account counts,
noise rates, campaign mixes, step gaps, how often an attack changes parent process)
from any list of ATT&CK techniques, so figures can be checked on data the clusterer
was never tuned on. Everything is drawn from one seeded random generator.

Campaign kinds: a chain of steps on one host, a chain that moves to a second host, an
identity chain in a cloud tenant, a phishing wave, a mass execution by stolen admin
accounts, a password spray. Noise: random alerts, benign recurrence (one rule on one
host over days), and fleet-wide rollouts (one rule on many hosts under one service
account).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from appliance.correlate.attack import TACTICS

_FIRST = (
    "amara kofi lena tomas ingrid rahul mei oskar paula diego hana yusuf clara ravi "
    "nora felix zara ivan lucia omar greta sami elena jonas aiko bruno"
).split()
_LAST = (
    "keller novak brandt osei haddad lindqvist moreau tanaka silva petrov quinn "
    "duarte weber ferraro nakamura okoye larsen romero"
).split()
_DEPTS = ("acct", "dev", "ops", "law", "mktg", "hr", "sec", "exec", "lab")
_ATTACK_PARENTS = (
    "OUTLOOK.EXE",
    "WINWORD.EXE",
    "EXCEL.EXE",
    "wscript.exe",
    "mshta.exe",
    "rundll32.exe",
    "msedge.exe",
    "explorer.exe",
)
_NOISE_PARENTS = (
    "explorer.exe",
    "svchost.exe",
    "services.exe",
    "taskeng.exe",
    "powershell.exe",
    "cmd.exe",
    "OUTLOOK.EXE",
    "chrome.exe",
    "Teams.exe",
    "CcmExec.exe",
    "msiexec.exe",
    "WINWORD.EXE",
)
_REMOTE_PARENTS = ("wmiprvse.exe", "PSEXESVC.exe")
_AGENTS = ("CcmExec.exe", "gpscript.exe", "svchost.exe", "msiexec.exe")
_SERVICE_ACCOUNTS = ("svc_patch", "svc_inventory", "svc_backup2", "svc_monitor")
_CLOUDS = ("AWS", "Azure", "GCP", "Okta")
_MINUTE = 60_000
_DAY = 86_400_000

KINDS = ("host_chain", "lateral_chain", "cloud_chain", "phishing", "mass_exec", "spray")


@dataclass(frozen=True)
class Technique:
    """An ATT&CK technique as a rule source: id, name, tactic ids, one sentence."""

    id: str
    name: str
    tactic_ids: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class StreamShape:
    """The structure of a generated stream."""

    n_alerts: int = 2000
    n_hosts: int = 120
    days: float = 7.0
    noise_fraction: float = 0.55
    mix: dict[str, float] = field(
        default_factory=lambda: {
            "host_chain": 0.45,
            "lateral_chain": 0.15,
            "cloud_chain": 0.2,
            "phishing": 0.08,
            "mass_exec": 0.06,
            "spray": 0.06,
        }
    )
    step_gap_minutes: float = 6.0
    parent_switch: float = 0.1
    name_variants: float = 0.0
    recurring_groups: int = 5
    rollouts: int = 4
    start_ms: int = 1_780_000_000_000


@dataclass
class Stream:
    """A generated stream: alerts in time order and the campaign label of each."""

    alerts: list[dict[str, Any]]
    labels: dict[str, str]


class _Builder:
    """Draws one stream; holds the random generator, the fleet and the rule pool."""

    def __init__(self, shape: StreamShape, techniques: Sequence[Technique], seed: int):
        self.shape = shape
        self.rng = random.Random(seed)
        self.by_tactic: dict[str, list[Technique]] = {}
        for technique in techniques:
            for tactic in technique.tactic_ids:
                self.by_tactic.setdefault(tactic, []).append(technique)
        self.tactic_names = {t[0]: t[1] for t in TACTICS}
        self.order = [t[0] for t in TACTICS if t[0] in self.by_tactic]
        self.techniques = list(techniques)
        self.hosts = [self._host(i) for i in range(shape.n_hosts)]
        self.alerts: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}
        self.next_id = self.rng.randrange(100_000, 900_000)
        self.end_ms = shape.start_ms + int(shape.days * _DAY)

    def _person(self) -> str:
        return f"{self.rng.choice(_FIRST)}.{self.rng.choice(_LAST)}"

    def _host(self, i: int) -> dict[str, str]:
        rng = self.rng
        linux = rng.random() < 0.1
        name = (
            f"srv-{rng.choice(_DEPTS)}-{i:03d}"
            if linux
            else f"LT-{rng.choice(_DEPTS).upper()}-{rng.randrange(1000, 9999)}"
        )
        return {
            "name": name,
            "ip": f"172.{16 + i // 250}.{i % 250}.{rng.randrange(2, 250)}",
            "owner": "www-data" if linux else self._person(),
            "os": "AGENT_OS_LINUX" if linux else "AGENT_OS_WINDOWS",
            "endpoint_id": f"{rng.getrandbits(128):032x}",
        }

    def _rule(self, tactic: str | None = None) -> Technique:
        if tactic and tactic in self.by_tactic:
            return self.rng.choice(self.by_tactic[tactic])
        return self.rng.choice(self.techniques)

    def emit(self, label: str, ts: int, rule: Technique, **fields: Any) -> None:
        """Add one alert in XDR's field names."""
        self.next_id += 1
        severity = fields.pop("severity", None) or self.rng.choice(
            ("medium", "high", "high", "critical")
        )
        tactics = [f"{t} - {self.tactic_names.get(t, t)}" for t in rule.tactic_ids]
        alert: dict[str, Any] = {
            "alert_id": str(self.next_id),
            "detection_timestamp": ts,
            "name": fields.pop("name", None)
            or f"{fields.pop('prefix', 'Suspicious')} {rule.name}",
            "description": rule.description,
            "severity": severity,
            "category": self.tactic_names.get(rule.tactic_ids[0], "Other"),
            "source": "XDR Analytics",
            "action": "DETECTED",
            "mitre_technique_id_and_name": [f"{rule.id} - {rule.name}"],
            "mitre_tactic_id_and_name": tactics,
            "external_id": f"{self.rng.getrandbits(128):032x}",
            "local_insert_ts": ts + self.rng.randrange(5_000, 90_000),
        }
        host = fields.pop("host", None)
        if host is not None:
            alert.update(
                host_name=host["name"],
                host_ip=host["ip"],
                endpoint_id=host["endpoint_id"],
                agent_os_type=host["os"],
            )
        alert.update(fields)
        self.alerts.append(alert)
        self.labels[alert["alert_id"]] = label

    def _when(self, span_ms: int) -> int:
        return self.rng.randrange(self.shape.start_ms, self.end_ms - span_ms)

    def _gap(self) -> int:
        minutes = min(self.rng.expovariate(1 / self.shape.step_gap_minutes), 25.0)
        return int((0.2 + minutes) * _MINUTE)

    def _path(self, low: int, high: int) -> list[str]:
        size = min(self.rng.randint(low, high), len(self.order))
        return sorted(self.rng.sample(self.order, size), key=self.order.index)

    def _endpoint_steps(
        self,
        label: str,
        host: dict[str, str],
        user: str,
        parent: str,
        ts: int,
        path: list[str],
        artifact: str,
    ) -> int:
        for tactic in path:
            if self.rng.random() < self.shape.parent_switch:
                parent = self.rng.choice(_ATTACK_PARENTS)
            self.emit(
                label,
                ts,
                self._rule(tactic),
                host=host,
                user_name=f"ACME\\{user}" if user != "www-data" else user,
                causality_actor_process_image_name=parent,
                causality_actor_process_image_path=f"C:\\Program Files\\{parent}",
                action_process_image_command_line=f"{artifact} /run",
                action_file_path=f"C:\\Users\\Public\\{artifact}",
            )
            ts += self._gap()
        return ts

    def host_chain(self, label: str) -> None:
        host = self.rng.choice(self.hosts)
        parent = (
            "apache2"
            if host["owner"] == "www-data"
            else self.rng.choice(_ATTACK_PARENTS)
        )
        self._endpoint_steps(
            label,
            host,
            host["owner"],
            parent,
            self._when(4 * 3_600_000),
            self._path(2, 7),
            self._token(),
        )

    def lateral_chain(self, label: str) -> None:
        source, target = self.rng.sample(self.hosts, 2)
        user = f"adm_{self._person()}" if self.rng.random() < 0.5 else source["owner"]
        parent = self.rng.choice(_ATTACK_PARENTS)
        ts = self._endpoint_steps(
            label,
            source,
            user,
            parent,
            self._when(6 * 3_600_000),
            self._path(1, 3),
            self._token(),
        )
        pointer = target["name"] if self.rng.random() < 0.5 else target["ip"]
        self.emit(
            label,
            ts,
            self._rule("TA0008"),
            host=source,
            user_name=f"ACME\\{user}",
            causality_actor_process_image_name=parent,
            action_process_image_command_line=f"psexec.exe \\\\{pointer} -u {user}",
            action_remote_ip=target["ip"],
        )
        remote = parent if self.rng.random() < 0.5 else self.rng.choice(_REMOTE_PARENTS)
        self._endpoint_steps(
            label,
            target,
            user,
            remote,
            ts + self._gap(),
            self._path(1, 4),
            self._token(),
        )

    def cloud_chain(self, label: str) -> None:
        user = f"{self._person()}@acme.example"
        ip = f"203.0.113.{self.rng.randrange(1, 254)}"
        cloud = self.rng.choice(_CLOUDS)
        ts = self._when(4 * 3_600_000)
        for tactic in self._path(2, 6):
            self.emit(
                label,
                ts,
                self._rule(tactic),
                user_name=user,
                action_remote_ip=ip,
                cloud_provider=cloud,
                source="Correlation",
            )
            ts += self._gap()

    def _wave(self, label: str, count: int, minutes: int, **fields: Any) -> list[int]:
        ts = self._when(minutes * _MINUTE)
        times = sorted(ts + self.rng.randrange(minutes * _MINUTE) for _ in range(count))
        return times

    def phishing(self, label: str) -> None:
        rule, follow = self._rule("TA0001"), self._rule("TA0002")
        parent = self.rng.choice(("OUTLOOK.EXE", "WINWORD.EXE", "EXCEL.EXE"))
        count = min(self.rng.randint(6, 35), len(self.hosts))
        hosts = self.rng.sample(self.hosts, count)
        lure = self._token()
        for host, ts in zip(hosts, self._wave(label, count, 90), strict=True):
            extra = {
                "host": host,
                "user_name": f"ACME\\{host['owner']}",
                "causality_actor_process_image_name": parent,
                "action_file_path": f"C:\\Users\\{host['owner']}\\Downloads\\{lure}.js",
            }
            self.emit(label, ts, rule, name=self._wave_name(rule), **extra)
            if self.rng.random() < 0.3:
                self.emit(label, ts + self._gap(), follow, **extra)

    def mass_exec(self, label: str) -> None:
        rule = self._rule("TA0002")
        admins = [f"adm_{self._person()}" for _ in range(self.rng.randint(2, 4))]
        stage = f"172.31.{self.rng.randrange(256)}.{self.rng.randrange(2, 250)}"
        count = min(self.rng.randint(6, 30), len(self.hosts))
        hosts = self.rng.sample(self.hosts, count)
        for host, ts in zip(hosts, self._wave(label, count, 60), strict=True):
            self.emit(
                label,
                ts,
                rule,
                host=host,
                name=self._wave_name(rule),
                user_name=f"ACME\\{self.rng.choice(admins)}",
                causality_actor_process_image_name=self.rng.choice(_REMOTE_PARENTS),
                action_remote_ip=stage,
            )

    def spray(self, label: str) -> None:
        rule = self._rule("TA0006")
        ip = f"198.18.{self.rng.randrange(256)}.{self.rng.randrange(1, 254)}"
        count = self.rng.randint(8, 30)
        for ts in self._wave(label, count, 120):
            self.emit(
                label,
                ts,
                rule,
                name=self._wave_name(rule),
                user_name=f"{self._person()}@acme.example",
                action_remote_ip=ip,
                cloud_provider="Okta",
                source="Correlation",
                severity="medium",
            )

    def _wave_name(self, rule: Technique) -> str | None:
        """Return another wording of a wave's rule name, as other products name it."""
        if self.rng.random() >= self.shape.name_variants:
            return None
        wording = self.rng.choice(
            ("{} activity detected", "Possible {}", "{} behavior observed")
        )
        return wording.format(rule.name)

    def _token(self) -> str:
        return "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=7))

    def noise(self, count: int) -> None:
        """Add random, recurring and rollout noise until ``count`` alerts are added."""
        rng = self.rng
        per_group = max(count // 12, 4)
        for _ in range(self.shape.recurring_groups):
            host, rule = rng.choice(self.hosts), self._rule()
            account = rng.choice(_SERVICE_ACCOUNTS)
            period = rng.choice((3_600_000, 4 * 3_600_000, _DAY // 2, _DAY))
            ts = self._when(0) - self.shape.start_ms
            ts = self.shape.start_ms + ts % max(period, 1)
            for _ in range(per_group):
                if ts >= self.end_ms:
                    break
                self.emit(
                    "noise",
                    ts,
                    rule,
                    host=host,
                    user_name=f"ACME\\{account}",
                    causality_actor_process_image_name="svchost.exe",
                    severity="medium",
                    prefix="Potential",
                )
                ts += period + rng.randrange(-_MINUTE * 5, _MINUTE * 5)
        for _ in range(self.shape.rollouts):
            rule, account = self._rule(), rng.choice(_SERVICE_ACCOUNTS)
            agent = rng.choice(_AGENTS)
            hosts = rng.sample(self.hosts, min(rng.randint(8, 30), len(self.hosts)))
            for host, ts in zip(
                hosts, self._wave("noise", len(hosts), 50), strict=True
            ):
                self.emit(
                    "noise",
                    ts,
                    rule,
                    host=host,
                    user_name=f"ACME\\{account}",
                    causality_actor_process_image_name=agent,
                    severity="medium",
                    prefix="Potential",
                )
        while sum(1 for v in self.labels.values() if v == "noise") < count:
            host = rng.choice(self.hosts)
            if rng.random() < 0.12:
                self.emit(
                    "noise",
                    self._when(0),
                    self._rule(),
                    user_name=f"{self._person()}@acme.example",
                    action_remote_ip=f"100.64.{rng.randrange(256)}.{rng.randrange(256)}",
                    cloud_provider=rng.choice(_CLOUDS),
                    source="Correlation",
                    severity=rng.choice(("low", "medium")),
                    prefix="Unusual",
                )
                continue
            user = host["owner"] if rng.random() < 0.7 else self._person()
            self.emit(
                "noise",
                self._when(0),
                self._rule(),
                host=host,
                user_name=f"ACME\\{user}" if user != "www-data" else user,
                causality_actor_process_image_name=rng.choice(_NOISE_PARENTS),
                severity=rng.choice(("low", "low", "medium", "medium", "high")),
                prefix=rng.choice(("Suspicious", "Potential", "Unusual")),
            )


def generate_stream(
    shape: StreamShape, techniques: Sequence[Technique], *, seed: int = 0
) -> Stream:
    """Return a labelled stream of the given shape, alerts in time order."""
    builder = _Builder(shape, techniques, seed)
    campaign_budget = int(shape.n_alerts * (1 - shape.noise_fraction))
    kinds = list(shape.mix)
    weights = [shape.mix[k] for k in kinds]
    number = 0
    while len(builder.alerts) < campaign_budget:
        number += 1
        kind = builder.rng.choices(kinds, weights)[0]
        getattr(builder, kind)(f"camp-{number:04d}")
    builder.noise(shape.n_alerts - len(builder.alerts))
    builder.alerts.sort(key=lambda a: a["detection_timestamp"])

    return Stream(alerts=builder.alerts, labels=builder.labels)


def load_techniques(rows: Sequence[dict[str, Any]]) -> list[Technique]:
    """Return techniques from ATT&CK rows (``attack_techniques.jsonl`` lines)."""
    return [
        Technique(
            id=row["id"],
            name=row["name"],
            tactic_ids=tuple(row["tactic_ids"]),
            description=row.get("description_first_sentence", ""),
        )
        for row in rows
        if row.get("tactic_ids")
        and not row.get("revoked")
        and not row.get("deprecated")
    ]
