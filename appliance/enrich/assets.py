"""CMDB and asset inventory: who owns a host, its business unit and criticality.

Two connectors: a CSV or JSON file an administrator uploads or points at, and a
generic HTTP source that returns JSON, read through a field mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from appliance.enrich.feed import ParsedFeed, csv_rows, read_json
from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import Source, SourceUnavailable, TtlCache

CRITICALITY = ("low", "medium", "high", "critical")
_CRITICALITY_ALIASES = {
    "1": "critical",
    "2": "high",
    "3": "medium",
    "4": "low",
    "tier0": "critical",
    "tier 0": "critical",
    "tier1": "high",
    "tier 1": "high",
    "tier2": "medium",
    "tier 2": "medium",
    "tier3": "low",
    "tier 3": "low",
    "crit": "critical",
    "med": "medium",
}

#: Asset field -> the names it may have in a file (first found wins).
DEFAULT_FIELD_MAP: dict[str, tuple[str, ...]] = {
    "hostname": ("hostname", "host", "host_name", "name", "asset", "fqdn"),
    "ip": ("ip", "ip_address", "ipaddress", "host_ip"),
    "owner": ("owner", "owned_by", "user", "primary_user"),
    "business_unit": ("business_unit", "bu", "department", "business unit"),
    "criticality": ("criticality", "asset_criticality", "tier", "priority"),
    "environment": ("environment", "env", "stage"),
    "tags": ("tags", "labels"),
}


class Asset(BaseModel):
    """One asset as the CMDB knows it."""

    hostname: str
    ip: str | None = None
    owner: str | None = None
    business_unit: str | None = None
    criticality: str | None = None
    environment: str | None = None
    tags: list[str] = Field(default_factory=list)


def normalize_criticality(raw: str) -> str:
    """Map a criticality spelling (``Tier 0``, ``2``, ``HIGH``) to the four levels.

    Raises:
        ValueError: the value names no known level.
    """
    text = raw.strip().lower()
    text = _CRITICALITY_ALIASES.get(text, text)
    if text not in CRITICALITY:
        raise ValueError(f"unknown criticality {raw!r}")
    return text


def asset_from_record(record: Mapping[str, Any], field_map: Mapping[str, Any]) -> Asset:
    """Build an asset from one record, reading each field under its mapped names.

    Raises:
        ValueError: the record has no hostname or a bad criticality.
    """
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    values: dict[str, Any] = {}
    for name, sources in field_map.items():
        for source in (sources,) if isinstance(sources, str) else sources:
            value = _dig(lowered, str(source).lower())
            if value not in (None, ""):
                values[name] = value
                break
    hostname = str(values.get("hostname", "")).strip()
    if not hostname:
        raise ValueError("no hostname")
    tags = values.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.replace(",", ";").split(";") if t.strip()]
    criticality = values.get("criticality")

    return Asset(
        hostname=hostname,
        ip=_text(values.get("ip")),
        owner=_text(values.get("owner")),
        business_unit=_text(values.get("business_unit")),
        criticality=normalize_criticality(str(criticality)) if criticality else None,
        environment=_text(values.get("environment")),
        tags=[str(t) for t in tags],
    )


def _dig(record: Mapping[str, Any], dotted: str) -> Any:
    """Return a value by a dotted path (``owner.name``) in a nested record."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = {str(k).lower(): v for k, v in value.items()}.get(part)
    return value


def _text(value: Any) -> str | None:
    """Return ``value`` as trimmed text, or None when blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_asset_file(path: Path) -> ParsedFeed[Asset]:
    """Read a CMDB export: CSV with a header, or JSON (a list or ``{"assets": [...]}``).

    Raises:
        SourceUnavailable: the file is missing or not readable as a whole.
    """
    feed: ParsedFeed[Asset] = ParsedFeed(str(path))
    if path.suffix.lower() == ".json":
        data = read_json(path)
        items = (
            data.get("assets", data.get("items")) if isinstance(data, dict) else data
        )
        if not isinstance(items, list):
            raise SourceUnavailable(f"{path.name} holds no list of assets")
        rows: list[tuple[str, Any]] = [
            (f"item {i}", item) for i, item in enumerate(items)
        ]
    else:
        rows = [(f"line {line}", row) for line, row in csv_rows(path)]
    for where, row in rows:
        if not isinstance(row, Mapping):
            feed.skip(where, "not an object")
            continue
        try:
            feed.records.append(asset_from_record(row, DEFAULT_FIELD_MAP))
        except ValueError as exc:
            feed.skip(where, str(exc).splitlines()[0])

    return feed


class AssetIndex:
    """Assets by lower-case hostname (short name too) and by IP."""

    def __init__(self, assets: list[Asset]) -> None:
        self.by_host: dict[str, Asset] = {}
        self.by_ip: dict[str, Asset] = {}
        for asset in assets:
            name = asset.hostname.lower()
            self.by_host[name] = asset
            self.by_host.setdefault(name.split(".")[0], asset)
            if asset.ip:
                self.by_ip[asset.ip] = asset

    def match(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return the assets behind the incident's hosts and IPs, each once."""
        found: dict[str, dict[str, Any]] = {}
        for host in entities.hosts:
            key = host.lower()
            asset = self.by_host.get(key) or self.by_host.get(key.split(".")[0])
            if asset:
                found[asset.hostname] = {"matched": host, **asset.model_dump()}
        for ip in entities.ips:
            asset = self.by_ip.get(ip)
            if asset and asset.hostname not in found:
                found[asset.hostname] = {"matched": ip, **asset.model_dump()}
        return list(found.values())


class AssetFileSource(Source):
    """Assets from a CMDB export on disk, re-read when the TTL runs out."""

    kind = "asset"

    def __init__(self, name: str, path: Path | None, ttl: float) -> None:
        super().__init__(name)
        self.path = path
        self._cache: TtlCache[AssetIndex] = TtlCache(self._load, ttl)

    @property
    def is_configured(self) -> bool:
        """Whether a file path is set."""
        return self.path is not None

    def _load(self) -> AssetIndex:
        assert self.path is not None
        return AssetIndex(parse_asset_file(self.path).records)

    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return the assets the incident touches."""
        return self._cache.get().match(entities)


class AssetHttpSource(Source):
    """Assets from an HTTP endpoint that answers JSON, one request per host.

    The URL is a template with ``{hostname}``; the answer is one asset object, a list
    of them, or an object with the list under ``items``/``assets``/``result``; its
    fields are read through ``field_map`` (dotted paths allowed).
    """

    kind = "asset"

    def __init__(
        self,
        name: str,
        url_template: str | None,
        field_map: Mapping[str, Any],
        ttl: float,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name)
        self.url_template = url_template
        self.field_map = {**DEFAULT_FIELD_MAP, **field_map}
        self.ttl = ttl
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._answers: dict[str, TtlCache[list[Asset]]] = {}

    @property
    def is_configured(self) -> bool:
        """Whether a URL is set."""
        return bool(self.url_template)

    def _fetch(self, hostname: str) -> list[Asset]:
        assert self.url_template is not None
        url = self.url_template.format(hostname=hostname)
        try:
            response = self._client.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SourceUnavailable(
                f"asset service did not answer: {exc.__class__.__name__}"
            ) from exc
        if isinstance(data, dict):
            for key in ("items", "assets", "result"):
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
        items = data if isinstance(data, list) else [data]
        assets = []
        for item in items:
            if isinstance(item, Mapping):
                try:
                    assets.append(asset_from_record(item, self.field_map))
                except ValueError:
                    continue
        return assets

    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Ask the service about each host of the incident."""
        assets: list[Asset] = []
        for host in entities.hosts:
            key = host.lower()
            if key not in self._answers:
                self._answers[key] = TtlCache(partial(self._fetch, host), self.ttl)
            cache = self._answers[key]
            assets.extend(cache.get())
        return AssetIndex(assets).match(entities)
