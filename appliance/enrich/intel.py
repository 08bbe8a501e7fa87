"""Threat intelligence from offline feeds: STIX 2.1 bundles, CSV lists, MISP exports.

Every feed is read into the same :class:`Indicator` records; a match says which feed
knew the indicator, with what confidence and when it was first and last seen.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

import stix2
import stix2.exceptions
from pydantic import BaseModel

from appliance.enrich.feed import ParsedFeed, csv_rows, first_of, read_json
from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import Source, SourceUnavailable, TtlCache

IndicatorType = Literal["ip", "domain", "url", "hash"]

_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9-]{1,63}\.)+[a-z]{2,63}$")
_STIX_COMPARISON = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url|file):"
    r"(?:value|hashes\.'?(?:MD5|SHA-1|SHA-256|SHA1|SHA256)'?)\s*=\s*'((?:[^'\\]|\\.)*)'",
    re.IGNORECASE,
)
_STIX_TYPES: dict[str, IndicatorType] = {
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "domain-name": "domain",
    "url": "url",
    "file": "hash",
}
_MISP_TYPES: dict[str, IndicatorType] = {
    "ip-src": "ip",
    "ip-dst": "ip",
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "link": "url",
    "md5": "hash",
    "sha1": "hash",
    "sha256": "hash",
}


class Indicator(BaseModel):
    """One indicator of compromise from one feed."""

    type: IndicatorType
    value: str
    source: str
    confidence: int | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    description: str | None = None


def normalize(kind: str, raw: str) -> str:
    """Return the canonical form of an indicator value.

    Raises:
        ValueError: the value is not a valid indicator of that type.
    """
    value = raw.strip()
    if kind == "ip":
        return str(ipaddress.ip_address(value.split("|")[0]))
    if kind == "domain":
        value = value.lower().rstrip(".")
        if not _DOMAIN.match(value):
            raise ValueError(f"not a domain: {raw[:60]!r}")
        return value
    if kind == "hash":
        value = value.lower().split("|")[-1]
        if not _HASH.match(value):
            raise ValueError("not an MD5, SHA-1 or SHA-256 hash")
        return value
    if kind == "url":
        if "://" not in value:
            raise ValueError("not a URL")
        return value
    raise ValueError(f"unknown indicator type {kind!r}")


def guess_type(value: str) -> IndicatorType:
    """Return the indicator type a bare value looks like.

    Raises:
        ValueError: it looks like none.
    """
    text = value.strip().lower()
    if "://" in text:
        return "url"
    if _HASH.match(text):
        return "hash"
    try:
        ipaddress.ip_address(text)
        return "ip"
    except ValueError:
        pass
    if _DOMAIN.match(text):
        return "domain"
    raise ValueError(f"cannot tell the type of {value[:60]!r}")


def _confidence(raw: Any) -> int | None:
    """Return a 0-100 confidence, or None; a value outside 0-100 is an error."""
    if raw in (None, ""):
        return None
    value = int(float(raw))
    if not 0 <= value <= 100:
        raise ValueError(f"confidence {value} outside 0-100")
    return value


def parse_stix_bundle(path: Path) -> ParsedFeed[Indicator]:
    """Read the indicators of a STIX 2.1 bundle, each object checked by ``stix2``.

    Raises:
        SourceUnavailable: the file is missing or not a bundle.
    """
    feed: ParsedFeed[Indicator] = ParsedFeed(str(path))
    data = read_json(path)
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise SourceUnavailable(f"{path.name} is not a STIX bundle")
    for i, raw in enumerate(data.get("objects") or []):
        where = f"object {i}"
        if not isinstance(raw, dict) or raw.get("type") != "indicator":
            continue
        if "valid_from" not in raw:
            feed.skip(where, "indicator has no valid_from")
            continue
        try:
            indicator = stix2.parse(raw, allow_custom=True, version="2.1")
        except (stix2.exceptions.STIXError, ValueError, TypeError) as exc:
            feed.skip(where, f"invalid STIX indicator: {exc.__class__.__name__}")
            continue
        comparisons = _STIX_COMPARISON.findall(indicator.pattern)
        if not comparisons:
            feed.skip(where, "pattern has no supported comparison")
            continue
        for stix_type, raw_value in comparisons:
            kind = _STIX_TYPES[stix_type.lower()]
            try:
                feed.records.append(
                    Indicator(
                        type=kind,
                        value=normalize(kind, raw_value),
                        source=f"stix:{path.name}",
                        confidence=indicator.get("confidence"),
                        first_seen=str(indicator.valid_from),
                        last_seen=str(
                            indicator.get("valid_until") or indicator.modified
                        ),
                        description=indicator.get("name"),
                    )
                )
            except ValueError as exc:
                feed.skip(where, str(exc))

    return feed


def parse_indicator_csv(path: Path) -> ParsedFeed[Indicator]:
    """Read a CSV indicator list (value, and optionally type, confidence, dates).

    Raises:
        SourceUnavailable: the file is missing or has no indicator column.
    """
    feed: ParsedFeed[Indicator] = ParsedFeed(str(path))
    rows = csv_rows(path)
    value_columns = ("indicator", "value", "ioc", "observable")
    if rows and not set(rows[0][1]) & set(value_columns):
        raise SourceUnavailable(f"{path.name} has no indicator column")
    for line, row in rows:
        where = f"line {line}"
        raw = first_of(row, value_columns)
        try:
            declared = first_of(row, ("type", "indicator_type", "kind")).lower()
            kind = _MISP_TYPES.get(declared, declared) if declared else guess_type(raw)
            feed.records.append(
                Indicator(
                    type=kind,  # type: ignore[arg-type]
                    value=normalize(kind, raw),
                    source=first_of(row, ("source", "feed")) or f"csv:{path.name}",
                    confidence=_confidence(first_of(row, ("confidence", "score"))),
                    first_seen=first_of(row, ("first_seen", "first seen")) or None,
                    last_seen=first_of(row, ("last_seen", "last seen")) or None,
                    description=first_of(row, ("description", "comment")) or None,
                )
            )
        except ValueError as exc:
            feed.skip(where, str(exc).splitlines()[0])

    return feed


def parse_misp_export(path: Path) -> ParsedFeed[Indicator]:
    """Read the attributes of a MISP JSON export (one event, a list, or a response).

    Raises:
        SourceUnavailable: the file is missing or holds no MISP event.
    """
    feed: ParsedFeed[Indicator] = ParsedFeed(str(path))
    data = read_json(path)
    if isinstance(data, dict) and "response" in data:
        data = data["response"]
    events = data if isinstance(data, list) else [data]
    events = [e.get("Event", e) for e in events if isinstance(e, dict)]
    if not events or not all("Attribute" in e or "Object" in e for e in events):
        raise SourceUnavailable(f"{path.name} holds no MISP event")
    for event in events:
        attributes = list(event.get("Attribute") or [])
        for obj in event.get("Object") or []:
            attributes.extend(obj.get("Attribute") or [])
        label = f"misp:{event.get('uuid') or event.get('id') or path.name}"
        for attribute in attributes:
            where = f"event {event.get('id', '?')} attribute {attribute.get('id', '?')}"
            misp_type = str(attribute.get("type", ""))
            kind = _MISP_TYPES.get(misp_type.split("|")[-1])
            if kind is None:
                continue
            try:
                feed.records.append(
                    Indicator(
                        type=kind,
                        value=normalize(kind, str(attribute.get("value", ""))),
                        source=label,
                        confidence=90 if attribute.get("to_ids") else 50,
                        first_seen=attribute.get("first_seen"),
                        last_seen=attribute.get("last_seen"),
                        description=event.get("info"),
                    )
                )
            except ValueError as exc:
                feed.skip(where, str(exc))

    return feed


def parse_intel_file(path: Path) -> ParsedFeed[Indicator]:
    """Read any supported feed, telling STIX from MISP by its content.

    Raises:
        SourceUnavailable: unreadable file or unknown format.
    """
    if path.suffix.lower() == ".csv":
        return parse_indicator_csv(path)
    data = read_json(path)
    if isinstance(data, dict) and data.get("type") == "bundle":
        return parse_stix_bundle(path)
    return parse_misp_export(path)


class IndicatorIndex:
    """Indicators by ``(type, value)``; a value may come from several feeds."""

    def __init__(self, indicators: list[Indicator]) -> None:
        self.by_value: dict[tuple[str, str], list[Indicator]] = {}
        for indicator in indicators:
            self.by_value.setdefault((indicator.type, indicator.value), []).append(
                indicator
            )

    def match(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return every feed entry that names one of the incident's indicators."""
        wanted: list[tuple[str, str]] = []
        for kind, values in (
            ("ip", entities.ips),
            ("domain", entities.domains),
            ("url", entities.urls),
            ("hash", entities.hashes),
        ):
            for value in values:
                try:
                    wanted.append((kind, normalize(kind, value)))
                except ValueError:
                    continue
        return [
            indicator.model_dump()
            for key in dict.fromkeys(wanted)
            for indicator in self.by_value.get(key, [])
        ]


class ThreatIntelSource(Source):
    """Indicators from every feed file in a folder (``.json`` and ``.csv``)."""

    kind = "indicator"

    def __init__(self, name: str, folder: Path, ttl: float) -> None:
        super().__init__(name)
        self.folder = folder
        self._cache: TtlCache[IndicatorIndex] = TtlCache(self._load, ttl)

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.suffix in {".json", ".csv"})

    @property
    def is_configured(self) -> bool:
        """Whether any feed was imported."""
        return bool(self._files())

    def _load(self) -> IndicatorIndex:
        indicators: list[Indicator] = []
        for path in self._files():
            indicators.extend(parse_intel_file(path).records)
        return IndicatorIndex(indicators)

    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return the feed entries that match the incident's indicators."""
        return self._cache.get().match(entities)
