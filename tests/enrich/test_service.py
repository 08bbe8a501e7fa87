"""The enrichment service: every source consulted, failures reported, fields filled."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Settings
from appliance.enrich.assets import AssetFileSource
from appliance.enrich.attack import AttackSource
from appliance.enrich.model import IncidentEntities
from appliance.enrich.service import (
    EnrichmentService,
    feed_folder,
    sources_from_settings,
)
from appliance.enrich.source import Source

DATA = Path(__file__).resolve().parent.parent / "data"


class BrokenSource(Source):
    """A source whose code is wrong, not just its data."""

    kind = "indicator"

    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        raise RuntimeError("bug")


@pytest.fixture
def entities() -> IncidentEntities:
    return IncidentEntities(
        incident_id="77",
        hosts=["WS-MKT-4191", "SQL-PAY-01"],
        ips=["203.0.113.66"],
        technique_ids=["T1562.001", "T1059.001"],
        proposed_technique_ids=["T1105"],
    )


def test_dead_sources_degrade_the_context_and_say_why(
    tmp_path: Path, entities: IncidentEntities
) -> None:
    service = EnrichmentService(
        [
            AssetFileSource("cmdb", DATA / "cmdb_assets.csv", 60),
            AssetFileSource("old-cmdb", tmp_path / "missing.csv", 60),
            BrokenSource("broken"),
            AttackSource("attack", None),
        ]
    )

    context = service.enrich(entities)

    statuses = {s.source: (s.status, s.error) for s in context.sources}
    assert statuses == {
        "cmdb": ("ok", None),
        "old-cmdb": ("failed", "cannot read missing.csv: FileNotFoundError"),
        "broken": ("failed", "RuntimeError in source"),
        "attack": ("ok", None),
    }
    assert context.asset_criticality == "critical"
    assert context.business_unit_impact == "Finance, Marketing"
    assert context.likely_attack_technique == "T1562.001 - Disable or Modify Tools"
    assert context.likely_attack_technique_origin == "alerts"


def test_model_technique_is_used_when_alerts_name_none() -> None:
    service = EnrichmentService([AttackSource("attack", None)])

    context = service.enrich(IncidentEntities(proposed_technique_ids=["T1105"]))

    assert context.likely_attack_technique == "T1105 - Ingress Tool Transfer"
    assert context.likely_attack_technique_origin == "model"


def test_sources_from_settings_use_imported_feeds(
    settings: Settings, entities: IncidentEntities
) -> None:
    for kind, name in [
        ("cmdb", "cmdb_assets.csv"),
        ("vulns", "vuln_scan_nessus.csv"),
        ("intel", "intel_indicators.csv"),
    ]:
        feed_folder(settings, kind).mkdir(parents=True)
        shutil.copy(DATA / name, feed_folder(settings, kind) / name)

    context = EnrichmentService(sources_from_settings(settings)).enrich(entities)

    statuses = {s.source: s.status for s in context.sources}
    assert statuses == {
        "cmdb-file": "ok",
        "cmdb-http": "not_configured",
        "vulnerability-scans": "ok",
        "threat-intel": "ok",
        "attack": "ok",
    }
    assert {f["cve"] for f in context.findings("vulnerability")} == {
        "CVE-2021-44228",
        "CVE-2021-45046",
    }
