"""Import a full official ATT&CK STIX bundle (``enterprise-attack.json``).

The bundle is reduced to the compact form that
:class:`~appliance.enrich.attack.AttackKnowledge` reads and written atomically to
``data_dir/attack/attack.json``; from then on it replaces the packaged v18.1 data,
full descriptions included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from appliance.enrich.attack import COMPACT_NAME
from appliance.enrich.feed import read_json
from appliance.enrich.source import SourceUnavailable


def _external_id(obj: dict[str, Any]) -> str | None:
    """Return the ATT&CK id (T1059, TA0002, M1038) of a STIX object."""
    for ref in obj.get("external_references") or []:
        if ref.get("source_name") in {"mitre-attack", "mitre-mobile-attack"}:
            return ref.get("external_id")
    return None


def _url(obj: dict[str, Any]) -> str | None:
    """Return the ATT&CK web page of a STIX object."""
    for ref in obj.get("external_references") or []:
        if ref.get("source_name") == "mitre-attack":
            return ref.get("url")
    return None


def compact_from_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """Reduce an ATT&CK STIX bundle to techniques, tactics, mitigations and detection.

    Raises:
        SourceUnavailable: the document is not a bundle with attack patterns.
    """
    if bundle.get("type") != "bundle":
        raise SourceUnavailable("not a STIX bundle")
    objects = [o for o in bundle.get("objects") or [] if isinstance(o, dict)]
    by_stix = {o["id"]: o for o in objects if "id" in o}
    techniques: dict[str, dict[str, Any]] = {}
    stix_to_tid: dict[str, str] = {}
    tactics: dict[str, dict[str, str]] = {}
    version = "?"
    for obj in objects:
        kind = obj.get("type")
        if kind == "x-mitre-collection":
            version = str(obj.get("x_mitre_version", version))
        elif kind == "x-mitre-tactic" and _external_id(obj):
            tactics[obj.get("x_mitre_shortname", "")] = {
                "id": _external_id(obj) or "",
                "name": obj.get("name", ""),
            }
        elif kind == "attack-pattern" and _external_id(obj):
            tid = _external_id(obj) or ""
            stix_to_tid[obj["id"]] = tid
            detection = obj.get("x_mitre_detection")
            techniques[tid] = {
                "name": obj.get("name", ""),
                "description": obj.get("description", ""),
                "tactics": [
                    p["phase_name"]
                    for p in obj.get("kill_chain_phases") or []
                    if p.get("kill_chain_name") == "mitre-attack"
                ],
                "url": _url(obj),
                "revoked": bool(obj.get("revoked")),
                "deprecated": bool(obj.get("x_mitre_deprecated")),
                "detection": [detection] if detection else [],
                "mitigations": [],
                "revoked_by": None,
            }
    if not techniques:
        raise SourceUnavailable("the bundle holds no ATT&CK techniques")
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("revoked"):
            continue
        kind = rel.get("relationship_type")
        target_tid = stix_to_tid.get(rel.get("target_ref", ""))
        source = by_stix.get(rel.get("source_ref", ""), {})
        if kind == "revoked-by" and rel.get("source_ref") in stix_to_tid:
            techniques[stix_to_tid[rel["source_ref"]]]["revoked_by"] = target_tid
        elif target_tid and kind == "mitigates" and _external_id(source):
            techniques[target_tid]["mitigations"].append(
                {"id": _external_id(source) or "", "name": source.get("name", "")}
            )
        elif target_tid and kind == "detects" and source.get("name"):
            techniques[target_tid]["detection"].append(source["name"])

    return {
        "attack_version": version,
        "origin": "imported bundle",
        "techniques": techniques,
        "tactics": tactics,
    }


def import_bundle(path: Path, data_dir: Path) -> dict[str, Any]:
    """Import the bundle at ``path`` and return counts of what was imported.

    Raises:
        SourceUnavailable: the file is unreadable or not an ATT&CK bundle.
    """
    compact = compact_from_bundle(read_json(path))
    target = data_dir / "attack" / COMPACT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(compact), encoding="utf-8")
    os.replace(partial, target)
    techniques = compact["techniques"]

    return {
        "attack_version": compact["attack_version"],
        "techniques": sum(1 for t in techniques.values() if not t["revoked"]),
        "revoked": sum(1 for t in techniques.values() if t["revoked"]),
        "tactics": len(compact["tactics"]),
        "written": str(target),
    }
