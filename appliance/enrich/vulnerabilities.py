"""Open vulnerabilities on the incident's hosts, from imported scanner exports.

Scanner exports differ in their column names; the common ones (Nessus, Qualys,
OpenVAS, Rapid7 CSV) are recognised: host, CVE, CVSS and first seen.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from appliance.enrich.feed import ParsedFeed, csv_rows, first_of
from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import Source, SourceUnavailable, TtlCache

CVE = re.compile(r"CVE-\d{4}-\d{4,7}", re.IGNORECASE)
HOST_COLUMNS = ("host", "hostname", "dns name", "netbios name", "asset name", "asset")
IP_COLUMNS = ("ip", "ip address", "host ip", "ip_address")
CVE_COLUMNS = ("cve", "cves", "cve id", "vulnerability id")
CVSS_COLUMNS = (
    "cvss",
    "cvss3",
    "cvss v3.0 base score",
    "cvss3 base score",
    "cvss base score",
    "cvss v2.0 base score",
    "cvss score",
)
FIRST_SEEN_COLUMNS = ("first seen", "first_seen", "first discovered", "first detected")
TITLE_COLUMNS = ("name", "title", "vulnerability", "plugin name")


class Vulnerability(BaseModel):
    """One open CVE on one host."""

    host: str
    ip: str | None
    cve: str
    cvss: float | None
    first_seen: dt.date | None
    title: str | None


def parse_date(raw: str) -> dt.date:
    """Read the date forms scanners write (ISO date or time, ``Mar 2, 2026``).

    Raises:
        ValueError: none of the forms fits.
    """
    text = raw.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for form in ("%b %d, %Y", "%d/%m/%Y %H:%M", "%m/%d/%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {raw!r}")


def parse_scan_csv(path: Path) -> ParsedFeed[Vulnerability]:
    """Read a scanner CSV export; rows with several CVEs give one record each.

    Raises:
        SourceUnavailable: the file is missing or has no host or CVE column.
    """
    feed: ParsedFeed[Vulnerability] = ParsedFeed(str(path))
    rows = csv_rows(path)
    if rows:
        columns = set(rows[0][1])
        if not columns & {*HOST_COLUMNS, *IP_COLUMNS} or not columns & set(CVE_COLUMNS):
            raise SourceUnavailable(f"{path.name} has no host or CVE column")
    for line, row in rows:
        where = f"line {line}"
        host = first_of(row, HOST_COLUMNS)
        ip = first_of(row, IP_COLUMNS) or None
        cves = CVE.findall(first_of(row, CVE_COLUMNS))
        if not (host or ip):
            feed.skip(where, "no host")
            continue
        if not cves:
            feed.skip(where, "no CVE id")
            continue
        try:
            raw_cvss = first_of(row, CVSS_COLUMNS)
            cvss = float(raw_cvss) if raw_cvss else None
            if cvss is not None and not 0.0 <= cvss <= 10.0:
                raise ValueError(f"CVSS {cvss} out of range")
            raw_seen = first_of(row, FIRST_SEEN_COLUMNS)
            first_seen = parse_date(raw_seen) if raw_seen else None
        except ValueError as exc:
            feed.skip(where, str(exc))
            continue
        for cve in cves:
            feed.records.append(
                Vulnerability(
                    host=host or ip or "",
                    ip=ip,
                    cve=cve.upper(),
                    cvss=cvss,
                    first_seen=first_seen,
                    title=first_of(row, TITLE_COLUMNS) or None,
                )
            )

    return feed


class VulnerabilityIndex:
    """Vulnerabilities by lower-case host name (short name too) and IP."""

    def __init__(self, vulnerabilities: list[Vulnerability]) -> None:
        self.by_key: dict[str, dict[str, Vulnerability]] = {}
        for vuln in vulnerabilities:
            host = vuln.host.lower()
            for key in {host, host.split(".")[0], vuln.ip or ""} - {""}:
                self.by_key.setdefault(key, {})[vuln.cve] = vuln

    def match(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return the open CVEs on the incident's hosts and IPs, worst first."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        keys = [h.lower() for h in entities.hosts] + list(entities.ips)
        for key in keys:
            hits = self.by_key.get(key) or self.by_key.get(key.split(".")[0], {})
            for vuln in hits.values():
                found[(vuln.host, vuln.cve)] = {
                    "matched": key,
                    **vuln.model_dump(mode="json"),
                }
        return sorted(found.values(), key=lambda f: -(f["cvss"] or 0.0))


class VulnerabilitySource(Source):
    """Open CVEs from every scanner export in a folder."""

    kind = "vulnerability"

    def __init__(self, name: str, folder: Path, ttl: float) -> None:
        super().__init__(name)
        self.folder = folder
        self._cache: TtlCache[VulnerabilityIndex] = TtlCache(self._load, ttl)

    @property
    def is_configured(self) -> bool:
        """Whether any scan was imported."""
        return self.folder.is_dir() and any(self.folder.glob("*.csv"))

    def _load(self) -> VulnerabilityIndex:
        vulns: list[Vulnerability] = []
        for path in sorted(self.folder.glob("*.csv")):
            vulns.extend(parse_scan_csv(path).records)
        return VulnerabilityIndex(vulns)

    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return the open CVEs on the incident's hosts."""
        return self._cache.get().match(entities)
