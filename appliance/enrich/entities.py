"""Pick the entities enrichment can use out of Cortex XDR alerts and artifacts."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from appliance.enrich.attack import TECHNIQUE_ID
from appliance.enrich.model import IncidentEntities

_HOST_FIELDS = ("host_name",)
_USER_FIELDS = ("user_name", "actor_effective_username")
_IP_FIELDS = ("host_ip", "action_local_ip", "action_remote_ip", "action_external_ip")
_DOMAIN_FIELDS = ("action_external_hostname", "dns_query_name", "action_domain")
_URL_FIELDS = ("action_url", "url")
_HASH_FIELDS = (
    "action_file_sha256",
    "action_file_md5",
    "action_process_image_sha256",
    "actor_process_image_sha256",
    "causality_actor_process_image_sha256",
    "file_sha256",
)
_MITRE_FIELDS = ("mitre_technique_id_and_name", "mitre_techniques_ids_and_names")


def _values(item: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    """Return the non-blank string values of ``fields`` (lists flattened)."""
    found = []
    for name in fields:
        value = item.get(name)
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str) and one.strip():
                found.append(one.strip())
    return found


def _ips(raw: list[str]) -> list[str]:
    """Keep the values that are IP addresses (XDR sometimes sends ``1.1.1.1.``)."""
    ips = []
    for value in raw:
        for part in value.split(","):
            try:
                ips.append(str(ipaddress.ip_address(part.strip().rstrip("."))))
            except ValueError:
                continue
    return ips


def entities_from_alerts(
    alerts: Iterable[Mapping[str, Any]],
    *,
    incident_id: str | None = None,
    tenant: str = "default",
    artifacts: Iterable[Mapping[str, Any]] = (),
) -> IncidentEntities:
    """Collect hosts, users, IPs, domains, URLs, hashes and technique ids.

    Technique ids come from the alerts' own MITRE fields, the most cited first.
    """
    alerts = list(alerts)
    items = [*alerts, *artifacts]
    techniques: Counter[str] = Counter()
    for alert in alerts:
        for text in _values(alert, _MITRE_FIELDS):
            techniques.update(TECHNIQUE_ID.findall(text.upper()))
    users = [u.split("\\")[-1] for item in items for u in _values(item, _USER_FIELDS)]

    return IncidentEntities(
        incident_id=incident_id,
        tenant=tenant,
        hosts=list(dict.fromkeys(v for i in items for v in _values(i, _HOST_FIELDS))),
        users=list(dict.fromkeys(users)),
        ips=list(
            dict.fromkeys(_ips([v for i in items for v in _values(i, _IP_FIELDS)]))
        ),
        domains=list(
            dict.fromkeys(v.lower() for i in items for v in _values(i, _DOMAIN_FIELDS))
        ),
        urls=list(dict.fromkeys(v for i in items for v in _values(i, _URL_FIELDS))),
        hashes=list(
            dict.fromkeys(v.lower() for i in items for v in _values(i, _HASH_FIELDS))
        ),
        technique_ids=[t for t, _ in techniques.most_common()],
    )
