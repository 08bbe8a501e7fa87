"""Scanner CSV imports: column aliases, several CVEs a row, malformed rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import SourceUnavailable
from appliance.enrich.vulnerabilities import VulnerabilitySource, parse_scan_csv

DATA = Path(__file__).resolve().parent.parent / "data"


def test_nessus_export_is_read_and_bad_rows_counted() -> None:
    feed = parse_scan_csv(DATA / "vuln_scan_nessus.csv")

    assert sorted(v.cve for v in feed.records) == [
        "CVE-2017-0144",
        "CVE-2019-0708",
        "CVE-2021-34527",
        "CVE-2021-44228",
        "CVE-2021-45046",
    ]
    assert feed.skipped_count == 4
    assert [s.reason for s in feed.skipped] == [
        "no CVE id",
        "CVSS 11.2 out of range",
        "no host",
        "unreadable date 'last tuesday'",
    ]
    eternal_blue = next(v for v in feed.records if v.cve == "CVE-2017-0144")
    assert eternal_blue.first_seen == dt.date(2026, 3, 2)


def test_source_gives_open_cves_worst_first(tmp_path: Path) -> None:
    (tmp_path / "scan.csv").write_bytes((DATA / "vuln_scan_nessus.csv").read_bytes())
    source = VulnerabilitySource("scans", tmp_path, ttl=60)

    found = source.lookup(IncidentEntities(hosts=["ws-fin-6341"], ips=["10.10.53.225"]))

    assert [f["cve"] for f in found] == [
        "CVE-2019-0708",
        "CVE-2021-34527",
        "CVE-2017-0144",
    ]


def test_file_without_cve_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("host,owner\nWS-1,alice\n", encoding="utf-8")

    with pytest.raises(SourceUnavailable, match="no host or CVE column"):
        parse_scan_csv(path)


def test_empty_folder_is_not_configured(tmp_path: Path) -> None:
    assert not VulnerabilitySource("scans", tmp_path / "none", ttl=60).is_configured
