"""Hunting templates keyed by intent, and suggested hunts for an incident.

Each template turns a few parameters (a host, a hash, an IP…) into a
:class:`~appliance.xql.builder.HuntSpec` over ``xdr_data``; :func:`build_hunt`
renders and validates it. :func:`suggest_hunts` picks two to five hunts from an
incident's own indicators.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from appliance.xql.builder import (
    Aggregate,
    Condition,
    HuntQuery,
    HuntSpec,
    HuntSpecError,
    Op,
    SortKey,
    build,
)

PROCESS_FIELDS = [
    "_time",
    "agent_hostname",
    "actor_effective_username",
    "actor_process_image_name",
    "action_process_image_name",
    "action_process_image_path",
    "action_process_image_command_line",
    "action_process_image_sha256",
]
NETWORK_FIELDS = [
    "_time",
    "agent_hostname",
    "actor_process_image_name",
    "actor_process_command_line",
    "action_local_ip",
    "action_remote_ip",
    "action_remote_port",
    "dst_action_external_hostname",
]
DNS_FIELDS = [
    "_time",
    "agent_hostname",
    "actor_process_image_name",
    "dns_query_name",
    "action_remote_ip",
]
FILE_FIELDS = [
    "_time",
    "agent_hostname",
    "event_sub_type",
    "actor_process_image_name",
    "action_file_path",
    "action_file_sha256",
]
REGISTRY_FIELDS = [
    "_time",
    "agent_hostname",
    "event_sub_type",
    "actor_process_image_name",
    "action_registry_key_name",
    "action_registry_value_name",
    "action_registry_data",
]
LOGON_FIELDS = [
    "_time",
    "agent_hostname",
    "action_evtlog_event_id",
    "action_evtlog_message",
]
# Windows security events for logons: success, failure, explicit credentials,
# special privileges.
LOGON_EVENT_IDS: list[str | int | float] = [4624, 4625, 4648, 4672]
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
MD5 = re.compile(r"^[0-9a-fA-F]{32}$")

Params = Mapping[str, str]


@dataclass(frozen=True)
class HuntTemplate:
    """A hunt for one intent: its parameters and how it becomes a spec."""

    intent: str
    summary: str
    required: tuple[str, ...]
    make: Callable[[Params], list[Condition]]
    fields: list[str]
    optional: tuple[str, ...] = ("host",)
    any_of: Callable[[Params], list[Condition]] | None = None


def _eq(name: str, value: str | int) -> Condition:
    return Condition(field=name, op=Op.EQ, value=value)


def _host(params: Params) -> list[Condition]:
    host = params.get("host")
    return [_eq("agent_hostname", host)] if host else []


def _event(event_type: str, *sub_types: str) -> list[Condition]:
    found = [_eq("event_type", event_type)]
    if len(sub_types) == 1:
        found.append(_eq("event_sub_type", sub_types[0]))
    elif sub_types:
        found.append(Condition(field="event_sub_type", op=Op.IN, value=list(sub_types)))
    return found


def _hash_field(prefix: str, value: str) -> Condition:
    """Return the condition on the sha256 or md5 field that fits ``value``."""
    if SHA256.match(value):
        return _eq(f"{prefix}_sha256", value.lower())
    if MD5.match(value):
        return _eq(f"{prefix}_md5", value.lower())
    raise HuntSpecError(f"{value!r} is neither a SHA-256 nor an MD5 hash")


def _remote(value: str) -> Condition:
    """Return the condition for a remote IP address or CIDR range."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise HuntSpecError(f"{value!r} is not an IP address or range") from None
        return Condition(field="action_remote_ip", op=Op.INCIDR, value=value)
    if address.version == 6:
        return _eq("action_remote_ip_v6", str(address))
    return _eq("action_remote_ip", str(address))


def _domain_match(name: str, domain: str) -> list[Condition]:
    """Match ``domain`` itself and its sub-domains in field ``name``."""
    domain = domain.strip().rstrip(".").lower()
    return [
        _eq(name, domain),
        Condition(field=name, op=Op.CONTAINS, value=f".{domain}"),
    ]


TEMPLATES: dict[str, HuntTemplate] = {
    t.intent: t
    for t in [
        HuntTemplate(
            "process_by_name",
            "Process executions of an image name",
            ("name",),
            lambda p: (
                _event("PROCESS", "PROCESS_START")
                + [_eq("action_process_image_name", p["name"])]
            ),
            PROCESS_FIELDS,
        ),
        HuntTemplate(
            "process_by_hash",
            "Process executions of a file hash",
            ("hash",),
            lambda p: (
                _event("PROCESS", "PROCESS_START")
                + [_hash_field("action_process_image", p["hash"])]
            ),
            PROCESS_FIELDS,
        ),
        HuntTemplate(
            "process_by_command_line",
            "Process executions whose command line contains a fragment",
            ("fragment",),
            lambda p: (
                _event("PROCESS", "PROCESS_START")
                + [
                    Condition(
                        field="action_process_image_command_line",
                        op=Op.CONTAINS,
                        value=p["fragment"],
                    )
                ]
            ),
            PROCESS_FIELDS,
        ),
        HuntTemplate(
            "process_by_user",
            "Processes started by a user",
            ("user",),
            lambda p: (
                _event("PROCESS", "PROCESS_START")
                + [
                    Condition(
                        field="actor_effective_username",
                        op=Op.CONTAINS,
                        value=p["user"],
                    )
                ]
            ),
            PROCESS_FIELDS,
        ),
        HuntTemplate(
            "parent_child",
            "A parent process starting a given child process",
            ("parent", "child"),
            lambda p: (
                _event("PROCESS", "PROCESS_START")
                + [
                    _eq("actor_process_image_name", p["parent"]),
                    _eq("action_process_image_name", p["child"]),
                ]
            ),
            PROCESS_FIELDS,
        ),
        HuntTemplate(
            "network_to_ip",
            "Network connections to a remote IP address or range",
            ("ip",),
            lambda p: _event("NETWORK") + [_remote(p["ip"])],
            NETWORK_FIELDS,
        ),
        HuntTemplate(
            "network_to_domain",
            "Network connections to a domain and its sub-domains",
            ("domain",),
            lambda p: _event("STORY"),
            NETWORK_FIELDS,
            any_of=lambda p: _domain_match("dst_action_external_hostname", p["domain"]),
        ),
        HuntTemplate(
            "dns_lookups",
            "DNS lookups of a domain and its sub-domains",
            ("domain",),
            lambda p: [],
            DNS_FIELDS,
            any_of=lambda p: _domain_match("dns_query_name", p["domain"]),
        ),
        HuntTemplate(
            "logons_by_user",
            "Windows logon events that name a user",
            ("user",),
            lambda p: (
                _event("EVENT_LOG")
                + [
                    Condition(
                        field="action_evtlog_event_id", op=Op.IN, value=LOGON_EVENT_IDS
                    ),
                    Condition(
                        field="action_evtlog_message", op=Op.CONTAINS, value=p["user"]
                    ),
                ]
            ),
            LOGON_FIELDS,
        ),
        HuntTemplate(
            "file_writes_by_hash",
            "Files written, created or renamed with a given hash",
            ("hash",),
            lambda p: (
                _event("FILE", "FILE_WRITE", "FILE_CREATE_NEW", "FILE_RENAME")
                + [_hash_field("action_file", p["hash"])]
            ),
            FILE_FIELDS,
        ),
        HuntTemplate(
            "file_writes_by_path",
            "Files written, created or renamed under a path",
            ("path",),
            lambda p: (
                _event("FILE", "FILE_WRITE", "FILE_CREATE_NEW", "FILE_RENAME")
                + [Condition(field="action_file_path", op=Op.CONTAINS, value=p["path"])]
            ),
            FILE_FIELDS,
        ),
        HuntTemplate(
            "registry_changes",
            "Registry keys created or values set under a key",
            ("key",),
            lambda p: (
                _event("REGISTRY", "REGISTRY_SET_VALUE", "REGISTRY_CREATE_KEY")
                + [
                    Condition(
                        field="action_registry_key_name", op=Op.CONTAINS, value=p["key"]
                    )
                ]
            ),
            REGISTRY_FIELDS,
        ),
        HuntTemplate(
            "host_activity",
            "Counts of each kind of event on a host",
            ("host",),
            lambda p: [],
            [],
            optional=(),
        ),
    ]
}


def build_hunt(
    intent: str,
    params: Params,
    *,
    timeframe: str | None = "7d",
    limit: int = 1000,
) -> HuntQuery:
    """Build and validate the hunt for ``intent`` with ``params``.

    Raises:
        HuntSpecError: for an unknown intent, a missing or unknown parameter, or
            a value the template cannot use.
    """
    template = TEMPLATES.get(intent)
    if template is None:
        raise HuntSpecError(
            f"unknown hunt intent {intent!r}; known: {', '.join(sorted(TEMPLATES))}"
        )
    missing = [name for name in template.required if not params.get(name)]
    unknown = sorted(set(params) - set(template.required) - set(template.optional))
    if missing or unknown:
        raise HuntSpecError(
            f"hunt {intent!r} needs {', '.join(template.required)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    conditions = _host(params) + template.make(params)
    any_of = template.any_of(params) if template.any_of else []
    if intent == "host_activity":
        spec = HuntSpec(
            timeframe=timeframe,
            conditions=conditions,
            aggregates=[Aggregate(function="count", alias="events")],
            group_by=["event_type", "event_sub_type"],
            sort=[SortKey(field="events")],
            limit=limit,
        )
    else:
        spec = HuntSpec(
            timeframe=timeframe,
            conditions=conditions,
            any_of=any_of,
            fields=template.fields,
            sort=[SortKey(field="_time")],
            limit=limit,
        )

    return build(spec)


@dataclass(frozen=True)
class Indicators:
    """An incident's own indicators, as the evidence pack lists them."""

    hosts: Sequence[str] = ()
    users: Sequence[str] = ()
    hashes: Sequence[str] = ()
    remote_ips: Sequence[str] = ()
    domains: Sequence[str] = ()
    process_names: Sequence[str] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


def suggest_hunts(indicators: Indicators, *, most: int = 5) -> list[HuntQuery]:
    """Return two to ``most`` validated hunts built from ``indicators``.

    Hashes, remote IPs, domains and users are hunted across every host (has this
    spread?); process names on the incident's first host.
    Indicators a template cannot use (a malformed hash) are skipped. Fewer than two
    come back only when the indicators do not support two.
    """
    host = indicators.hosts[0] if indicators.hosts else None
    wanted: list[tuple[str, dict[str, str]]] = []
    for value in indicators.hashes:
        wanted.append(("process_by_hash", {"hash": value}))
        wanted.append(("file_writes_by_hash", {"hash": value}))
    wanted += [("network_to_ip", {"ip": ip}) for ip in indicators.remote_ips]
    wanted += [("dns_lookups", {"domain": d}) for d in indicators.domains]
    for name in indicators.process_names:
        params = {"name": name, "host": host} if host else {"name": name}
        wanted.append(("process_by_name", params))
    wanted += [("logons_by_user", {"user": user}) for user in indicators.users]
    if host:
        wanted.append(("host_activity", {"host": host}))

    hunts: list[HuntQuery] = []
    seen: set[str] = set()
    for intent, params in _interleave(wanted):
        if len(hunts) >= most:
            break
        try:
            hunt = build_hunt(intent, params)
        except HuntSpecError:
            continue
        if hunt.xql not in seen:
            seen.add(hunt.xql)
            hunts.append(hunt)

    return hunts


def _interleave(
    wanted: list[tuple[str, dict[str, str]]],
) -> list[tuple[str, dict[str, str]]]:
    """Order hunts so that each intent gets a turn before any repeats."""
    by_intent: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for item in wanted:
        by_intent.setdefault(item[0], []).append(item)
    ordered: list[tuple[str, dict[str, str]]] = []
    while any(by_intent.values()):
        for queue in by_intent.values():
            if queue:
                ordered.append(queue.pop(0))

    return ordered
