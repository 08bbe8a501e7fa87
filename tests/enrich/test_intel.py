"""Threat-intel feeds: STIX 2.1 bundles, CSV lists and MISP exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.enrich.intel import (
    ThreatIntelSource,
    parse_indicator_csv,
    parse_intel_file,
    parse_misp_export,
    parse_stix_bundle,
)
from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import SourceUnavailable

DATA = Path(__file__).resolve().parent.parent / "data"


def test_stix_bundle_indicators_are_validated_one_by_one() -> None:
    feed = parse_stix_bundle(DATA / "intel_bundle.stix.json")

    assert {(i.type, i.value) for i in feed.records} == {
        ("ip", "203.0.113.66"),
        ("domain", "login-microsoftonline.example.net"),
        ("url", "https://login-microsoftonline.example.net/o365/auth.php"),
        ("hash", "8d5aec85593c85ecdc8d5ac601e163a1cc26d877f88c03e9e0e94c9dd4a38fca"),
    }
    assert feed.skipped_count == 3
    reasons = [s.reason for s in feed.skipped]
    assert reasons[0].startswith("invalid STIX indicator")
    assert "indicator has no valid_from" in reasons
    assert "pattern has no supported comparison" in reasons
    qakbot = next(i for i in feed.records if i.type == "ip")
    assert qakbot.confidence == 85
    assert qakbot.first_seen is not None and qakbot.first_seen.startswith("2026-02-14")


def test_csv_list_guesses_missing_types_and_skips_bad_rows() -> None:
    feed = parse_indicator_csv(DATA / "intel_indicators.csv")

    assert len(feed.records) == 5
    spray = next(i for i in feed.records if i.value == "192.0.2.232")
    assert spray.type == "ip"
    sha = next(i for i in feed.records if i.type == "hash")
    assert sha.value == sha.value.lower()
    assert feed.skipped_count == 3


def test_misp_export_reads_event_and_object_attributes() -> None:
    feed = parse_misp_export(DATA / "misp_event.json")

    assert {(i.type, i.value) for i in feed.records} == {
        ("ip", "198.51.100.23"),
        ("domain", "invoice-portal.example.com"),
        ("url", "https://invoice-portal.example.com/download/INV-2291.zip"),
        ("hash", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("hash", "44d88612fea8a8f36de82e1278abb02f"),
    }
    assert feed.skipped_count == 2


def test_unknown_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text('{"hello": "world"}', encoding="utf-8")

    with pytest.raises(SourceUnavailable, match="no MISP event"):
        parse_intel_file(path)


def test_source_matches_indicators_across_feeds(tmp_path: Path) -> None:
    for name in ("intel_bundle.stix.json", "intel_indicators.csv", "misp_event.json"):
        shutil.copy(DATA / name, tmp_path / name)
    source = ThreatIntelSource("intel", tmp_path, ttl=60)
    entities = IncidentEntities(
        ips=["203.0.113.66", "10.0.0.1"],
        domains=["INVOICE-PORTAL.example.com."],
        hashes=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )

    found = source.lookup(entities)

    sources = sorted((f["value"], f["source"]) for f in found)
    assert sources == [
        ("203.0.113.66", "abuse-feed"),
        ("203.0.113.66", "stix:intel_bundle.stix.json"),
        (
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "internal-hunt",
        ),
        ("invoice-portal.example.com", "misp:5f1e8c7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"),
    ]
