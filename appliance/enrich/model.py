"""The typed input and output of enrichment.

The input is a plain set of entities, so enrichment depends on no incident table:
whoever holds an incident (the XDR intake, ``appliance triage``, a test) builds an
:class:`IncidentEntities` and gets an :class:`EnrichmentContext` back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SourceStatus = Literal["ok", "empty", "failed", "not_configured"]


class IncidentEntities(BaseModel):
    """The entities of one incident that local sources can say something about."""

    model_config = ConfigDict(extra="forbid")

    incident_id: str | None = None
    tenant: str = "default"
    hosts: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    ips: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    hashes: list[str] = Field(default_factory=list)
    technique_ids: list[str] = Field(
        default_factory=list,
        description="Technique ids from the alerts' MITRE fields, most cited first.",
    )
    proposed_technique_ids: list[str] = Field(
        default_factory=list,
        description="Technique ids a model proposed; looked up after the alerts' own.",
    )


class SourceResult(BaseModel):
    """What one source said about the incident, or why it said nothing."""

    source: str
    kind: str
    status: SourceStatus
    findings: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    cached: bool = False
    duration_ms: float = 0.0


class EnrichmentContext(BaseModel):
    """Everything local sources know about one incident, with a trace per source."""

    incident_id: str | None
    tenant: str
    sources: list[SourceResult]
    business_unit_impact: str | None = None
    asset_criticality: str | None = None
    likely_attack_technique: str | None = None
    likely_attack_technique_origin: Literal["alerts", "model", "none"] = "none"

    @property
    def failed(self) -> list[SourceResult]:
        """Return the sources that failed."""
        return [s for s in self.sources if s.status == "failed"]

    def findings(self, kind: str) -> list[dict[str, Any]]:
        """Return the findings of every source of ``kind``."""
        return [f for s in self.sources if s.kind == kind for f in s.findings]
