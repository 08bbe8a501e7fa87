"""Ask every configured source about an incident and fill the context fields."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from appliance.config import Settings
from appliance.enrich.assets import CRITICALITY, AssetFileSource, AssetHttpSource
from appliance.enrich.attack import AttackSource
from appliance.enrich.intel import ThreatIntelSource
from appliance.enrich.model import EnrichmentContext, IncidentEntities, SourceResult
from appliance.enrich.source import Source, SourceUnavailable
from appliance.enrich.vulnerabilities import VulnerabilitySource

logger = logging.getLogger(__name__)


def feed_folder(settings: Settings, kind: str) -> Path:
    """Return the folder imported feeds of ``kind`` (cmdb, vulns, intel) live in."""
    return settings.resolved_data_dir / "enrich" / kind


def sources_from_settings(settings: Settings) -> list[Source]:
    """Build one source per kind from the settings (unset ones report so)."""
    ttl = settings.enrich_cache_ttl_seconds
    cmdb_path = Path(settings.enrich_cmdb_path) if settings.enrich_cmdb_path else None
    if cmdb_path is None:
        imported = sorted(feed_folder(settings, "cmdb").glob("*.*"))
        cmdb_path = imported[-1] if imported else None
    field_map = json.loads(settings.enrich_cmdb_field_map or "{}")

    return [
        AssetFileSource("cmdb-file", cmdb_path, ttl),
        AssetHttpSource(
            "cmdb-http",
            settings.enrich_cmdb_url,
            field_map,
            ttl,
            timeout=settings.enrich_http_timeout_seconds,
        ),
        VulnerabilitySource("vulnerability-scans", feed_folder(settings, "vulns"), ttl),
        ThreatIntelSource("threat-intel", feed_folder(settings, "intel"), ttl),
        AttackSource("attack", settings.resolved_data_dir),
    ]


class EnrichmentService:
    """Consults every source and never lets one failure block the incident."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources

    def consult(self, source: Source, entities: IncidentEntities) -> SourceResult:
        """Ask one source; turn whatever goes wrong into a ``failed`` result."""
        if not source.is_configured:
            return SourceResult(
                source=source.name, kind=source.kind, status="not_configured"
            )
        start = time.perf_counter()
        try:
            findings = source.lookup(entities)
        except SourceUnavailable as exc:
            error = str(exc)
        except Exception as exc:  # a broken source must not stop enrichment
            logger.warning(
                "enrichment source failed",
                extra={"source": source.name, "incident_id": entities.incident_id},
                exc_info=True,
            )
            error = f"{exc.__class__.__name__} in source"
        else:
            return SourceResult(
                source=source.name,
                kind=source.kind,
                status="ok" if findings else "empty",
                findings=findings,
                duration_ms=round((time.perf_counter() - start) * 1000, 2),
            )
        logger.info(
            "enrichment source unavailable",
            extra={"source": source.name, "incident_id": entities.incident_id},
        )
        return SourceResult(
            source=source.name,
            kind=source.kind,
            status="failed",
            error=error,
            duration_ms=round((time.perf_counter() - start) * 1000, 2),
        )

    def enrich(self, entities: IncidentEntities) -> EnrichmentContext:
        """Return the context of one incident, with a result for every source."""
        results = [self.consult(source, entities) for source in self.sources]
        context = EnrichmentContext(
            incident_id=entities.incident_id, tenant=entities.tenant, sources=results
        )
        assets = context.findings("asset")
        ranked = sorted(
            (a for a in assets if a.get("criticality")),
            key=lambda a: -CRITICALITY.index(a["criticality"]),
        )
        if ranked:
            context.asset_criticality = ranked[0]["criticality"]
        units = [a["business_unit"] for a in ranked + assets if a.get("business_unit")]
        if units:
            context.business_unit_impact = ", ".join(dict.fromkeys(units))
        self._fill_technique(context, entities)

        return context

    @staticmethod
    def _fill_technique(context: EnrichmentContext, entities: IncidentEntities) -> None:
        """Set the likely technique: the alerts' own first, then the model's."""
        known = {f["id"]: f for f in context.findings("attack") if f.get("known")}
        for ids, origin in (
            (entities.technique_ids, "alerts"),
            (entities.proposed_technique_ids, "model"),
        ):
            if ids:
                tid = ids[0]
                name = known.get(tid, {}).get("name")
                context.likely_attack_technique = f"{tid} - {name}" if name else tid
                context.likely_attack_technique_origin = origin  # type: ignore[assignment]
                return
