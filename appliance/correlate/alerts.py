r"""Normalize Cortex XDR alert objects into the fields correlation looks at.

An XDR alert carries dozens of fields; correlation needs a dozen, cleaned so that equal
things compare equal: host names lower-cased, ``CORP\\user`` and ``user`` the same
account, process names without their folder, tactics as kill-chain positions, and the
detection time in milliseconds (XDR's unit) even when a source sent seconds.

Bad input gets a clear error naming the alert and the field, never a silent guess,
except for two repairs that have one right answer: timestamps in seconds become
milliseconds, and an alert repeated with the same id is kept once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from appliance.correlate.attack import tactic_positions
from appliance.errors import ValidationFailed

# Below this a timestamp cannot be milliseconds of a real alert (1e11 ms is 1973),
# and above it cannot be seconds (1e11 s is the year 5138).
_SECONDS_LIMIT = 100_000_000_000

_SEVERITY_RANK = {
    "unknown": 0,
    "informational": 1,
    "info": 1,
    "low": 2,
    "medium": 3,
    "high": 4,
    "critical": 5,
}

_TEXT_FIELDS = (
    "action_process_image_command_line",
    "action_file_path",
    "action_registry_key_name",
    "action_registry_data",
    "action_module_path",
    "action_external_hostname",
)
_HASH_FIELDS = (
    "action_process_image_sha256",
    "action_file_sha256",
    "action_module_sha256",
    "causality_actor_process_image_sha256",
)
_STRING_FIELDS = (
    "name",
    "description",
    "severity",
    "host_name",
    "host_ip",
    "endpoint_id",
    "user_name",
    "causality_actor_process_image_name",
    "causality_actor_process_image_path",
    "action_process_image_name",
    "action_remote_ip",
    "action_local_ip",
    "cloud_provider",
    "dns_query_name",
    *_TEXT_FIELDS,
    *_HASH_FIELDS,
)
_LIST_FIELDS = ("mitre_tactic_id_and_name", "mitre_technique_id_and_name")
_MAX_ID_LENGTH = 128


class InvalidAlert(ValidationFailed):
    """An alert that cannot be correlated, with the position and field at fault."""

    code = "invalid_alert"


@dataclass(frozen=True, slots=True)
class Alert:
    """The fields of one XDR alert that correlation compares."""

    alert_id: str
    ts_ms: int
    name: str
    description: str = ""
    severity: str = "unknown"
    host: str | None = None
    host_ip: str | None = None
    user: str | None = None
    causality: str | None = None
    process: str | None = None
    remote_ips: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    tactics: tuple[int, ...] = ()
    techniques: tuple[str, ...] = ()
    cloud: str | None = None
    artifacts: str = field(default="", repr=False)

    @property
    def severity_rank(self) -> int:
        """Return the severity as a number, higher is worse."""
        return _SEVERITY_RANK.get(self.severity, 0)

    @property
    def rule_key(self) -> str:
        """Return the detection rule this alert came from, as a comparable key."""
        return self.name.casefold()


def parse_timestamp(value: object, *, where: str) -> int:
    """Return an alert time in milliseconds since the epoch.

    Accepts milliseconds (XDR's unit), seconds (converted), and ISO 8601 strings.

    Raises:
        InvalidAlert: the value is missing, not a time, or negative.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAlert(f"{where}: detection_timestamp is missing or not a number")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            value = float(text)
        else:
            try:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidAlert(
                    f"{where}: detection_timestamp {text[:40]!r} is not a time"
                ) from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return int(parsed.timestamp() * 1000)
    if not isinstance(value, int | float) or value != value or value < 0:
        raise InvalidAlert(f"{where}: detection_timestamp must be a positive number")
    if value < _SECONDS_LIMIT:
        value = value * 1000

    return int(value)


def normalize_user(raw: str | None) -> str | None:
    """Return an account name without its Windows domain, lower-cased."""
    if not raw:
        return None
    user = raw.strip().casefold()
    if "\\" in user:
        user = user.rsplit("\\", 1)[1]

    return user or None


def _basename(path: str | None) -> str | None:
    """Return the last component of a Windows or POSIX path, lower-cased."""
    if not path:
        return None
    name = re.split(r"[\\/]", path.strip())[-1].casefold()

    return name or None


def _strings(raw: Mapping[str, Any], where: str) -> dict[str, str | None]:
    """Return the string fields of an alert, checking their types."""
    values: dict[str, str | None] = {}
    for key in _STRING_FIELDS:
        value = raw.get(key)
        if value is None or value == "":
            values[key] = None
        elif isinstance(value, str):
            values[key] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[key] = str(value)
        else:
            raise InvalidAlert(f"{where}: field {key} must be a string")

    return values


def _string_list(raw: Mapping[str, Any], key: str, where: str) -> list[str]:
    """Return a list-of-strings field; a single string counts as a list of one."""
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise InvalidAlert(f"{where}: field {key} must be a list of strings")


def normalize_alert(raw: object, *, position: int = 0) -> Alert:
    """Return the correlation view of one XDR alert object.

    Args:
        raw: one alert as XDR returns it (``get_alerts`` or the alert stream).
        position: where the alert was in its batch, for error messages.

    Raises:
        InvalidAlert: the object is not an alert or a field has the wrong type.
    """
    where = f"alert {position}"
    if not isinstance(raw, Mapping):
        raise InvalidAlert(f"{where}: an alert must be a JSON object")
    alert_id = raw.get("alert_id")
    if isinstance(alert_id, bool) or not isinstance(alert_id, str | int):
        raise InvalidAlert(f"{where}: alert_id is missing or not a string")
    alert_id = str(alert_id).strip()
    if not alert_id or len(alert_id) > _MAX_ID_LENGTH:
        raise InvalidAlert(f"{where}: alert_id is empty or too long")
    where = f"alert {position} ({alert_id})"
    ts_ms = parse_timestamp(raw.get("detection_timestamp"), where=where)
    s = _strings(raw, where)
    tactics = _string_list(raw, "mitre_tactic_id_and_name", where)
    techniques = _string_list(raw, "mitre_technique_id_and_name", where)

    host = s["host_name"] or s["endpoint_id"]
    remote_ips = {ip for ip in (s["action_remote_ip"],) if ip}
    hashes = {s[k].casefold() for k in _HASH_FIELDS if s[k]}  # type: ignore[union-attr]
    domains = {
        d.casefold() for d in (s["action_external_hostname"], s["dns_query_name"]) if d
    }
    artifacts = " ".join(s[k] or "" for k in _TEXT_FIELDS).casefold()
    causality = _basename(s["causality_actor_process_image_name"]) or _basename(
        s["causality_actor_process_image_path"]
    )

    return Alert(
        alert_id=alert_id,
        ts_ms=ts_ms,
        name=(s["name"] or "").strip(),
        description=(s["description"] or "").strip(),
        severity=(s["severity"] or "unknown").strip().casefold(),
        host=host.strip().casefold() if host else None,
        host_ip=s["host_ip"],
        user=normalize_user(s["user_name"]),
        causality=causality,
        process=_basename(s["action_process_image_name"]),
        remote_ips=tuple(sorted(remote_ips)),
        hashes=tuple(sorted(hashes)),
        domains=tuple(sorted(domains)),
        tactics=tactic_positions(tactics),
        techniques=tuple(t.split(" ", 1)[0] for t in techniques),
        cloud=(s["cloud_provider"] or "").casefold() or None,
        artifacts=artifacts,
    )


@dataclass
class AlertBatch:
    """Normalized alerts in time order, and what normalizing had to repair."""

    alerts: list[Alert]
    duplicates: int = 0


def normalize_batch(raws: Iterable[object], *, max_alerts: int) -> AlertBatch:
    """Normalize a batch of alerts, sorted by detection time.

    An alert id seen twice keeps its first occurrence when both are the same alert
    (XDR re-delivers alerts); two different alerts with one id are an error.

    Raises:
        InvalidAlert: an alert is invalid, two alerts share an id, or the batch holds
            more than ``max_alerts`` alerts.
    """
    alerts: dict[str, Alert] = {}
    duplicates = 0
    for position, raw in enumerate(raws):
        if position >= max_alerts:
            raise InvalidAlert(
                f"more than {max_alerts} alerts in one batch; split the input"
            )
        alert = normalize_alert(raw, position=position)
        earlier = alerts.get(alert.alert_id)
        if earlier is None:
            alerts[alert.alert_id] = alert
        elif earlier == alert:
            duplicates += 1
        else:
            raise InvalidAlert(
                f"alert {position}: alert_id {alert.alert_id} is used by two "
                "different alerts"
            )
    ordered = sorted(alerts.values(), key=lambda a: (a.ts_ms, a.alert_id))

    return AlertBatch(alerts=ordered, duplicates=duplicates)
