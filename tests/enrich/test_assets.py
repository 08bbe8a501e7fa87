"""CMDB connectors: file exports with malformed rows, and the HTTP JSON source."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from appliance.enrich.assets import (
    AssetFileSource,
    AssetHttpSource,
    normalize_criticality,
    parse_asset_file,
)
from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import SourceUnavailable

DATA = Path(__file__).resolve().parent.parent / "data"


def test_csv_export_keeps_good_rows_and_reports_bad_ones() -> None:
    feed = parse_asset_file(DATA / "cmdb_assets.csv")

    assert len(feed.records) == 6
    assert feed.skipped_count == 2
    reasons = {s.where: s.reason for s in feed.skipped}
    assert reasons == {
        "line 7": "no hostname",
        "line 8": "unknown criticality 'urgent'",
    }
    dc = next(a for a in feed.records if a.hostname.startswith("DC01"))
    assert dc.criticality == "critical"
    assert dc.tags == ["domain-controller"]


def test_json_export_reads_aliased_fields() -> None:
    feed = parse_asset_file(DATA / "cmdb_assets.json")

    assert [a.hostname for a in feed.records] == [
        "WS-SUP-6636",
        "web-portal-01.corp.example.com",
        "WS-ENG-6340",
    ]
    assert feed.records[1].criticality == "critical"
    assert feed.records[1].business_unit == "E-Commerce"
    assert feed.report()["skipped"] == 2


@pytest.mark.parametrize(
    ("raw", "level"), [("Tier 0", "critical"), ("2", "high"), ("MED", "medium")]
)
def test_criticality_spellings_map_to_levels(raw: str, level: str) -> None:
    assert normalize_criticality(raw) == level


def test_file_source_matches_short_names_and_ips() -> None:
    source = AssetFileSource("cmdb", DATA / "cmdb_assets.csv", ttl=60)
    entities = IncidentEntities(hosts=["dc01", "WS-FIN-6341"], ips=["10.10.53.225"])

    found = {f["hostname"]: f["matched"] for f in source.lookup(entities)}

    assert found == {
        "DC01.corp.example.com": "dc01",
        "WS-FIN-6341": "WS-FIN-6341",
        "WS-MKT-4191": "10.10.53.225",
    }


def test_missing_file_is_unavailable(tmp_path: Path) -> None:
    source = AssetFileSource("cmdb", tmp_path / "gone.csv", ttl=60)

    with pytest.raises(SourceUnavailable, match="cannot read gone.csv"):
        source.lookup(IncidentEntities(hosts=["x"]))


def test_http_source_reads_nested_fields_through_the_map() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        body = {
            "result": [
                {
                    "fqdn": "WS-FIN-6341",
                    "support": {"owner": "joseph.green", "unit": "Finance"},
                    "class": "1",
                }
            ]
        }
        return httpx.Response(200, json=body)

    source = AssetHttpSource(
        "cmdb-http",
        "https://cmdb.local/api/hosts/{hostname}",
        {
            "owner": "support.owner",
            "business_unit": "support.unit",
            "criticality": "class",
        },
        ttl=60,
        transport=httpx.MockTransport(answer),
    )
    entities = IncidentEntities(hosts=["WS-FIN-6341"])

    first = source.lookup(entities)
    second = source.lookup(entities)

    assert first == second
    assert first[0]["owner"] == "joseph.green"
    assert first[0]["criticality"] == "critical"
    assert asked == ["/api/hosts/WS-FIN-6341"]  # the second answer came from the cache


def test_unreachable_http_source_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    source = AssetHttpSource(
        "cmdb-http",
        "https://cmdb.local/{hostname}",
        {},
        60,
        transport=httpx.MockTransport(refuse),
    )

    with pytest.raises(SourceUnavailable, match="ConnectError"):
        source.lookup(IncidentEntities(hosts=["WS-FIN-6341"]))


def test_http_source_without_url_is_not_configured() -> None:
    assert not AssetHttpSource("cmdb-http", None, {}, 60).is_configured
