"""ATT&CK knowledge from the package, with v18 and v19 ids both resolving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.enrich.attack import AttackKnowledge, AttackSource
from appliance.enrich.model import IncidentEntities

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "attack"


@pytest.fixture(scope="module")
def knowledge() -> AttackKnowledge:
    return AttackKnowledge.load(None)


def test_package_technique_has_names_detection_and_mitigations(
    knowledge: AttackKnowledge,
) -> None:
    info = knowledge.technique("t1059.001")

    assert info is not None
    assert (info.id, info.name, info.tactics) == (
        "T1059.001",
        "PowerShell",
        ["Execution"],
    )
    assert info.description.startswith("Adversaries may abuse PowerShell")
    assert info.detection and info.mitigations
    assert info.attack_version == "18.1"


def test_every_active_v18_technique_resolves(knowledge: AttackKnowledge) -> None:
    lines = (
        (SHARED / "attack_techniques.jsonl").read_text(encoding="utf-8").splitlines()
    )
    active = [json.loads(line) for line in lines]
    active = [t for t in active if not t["revoked"] and not t["deprecated"]]

    missing = [t["id"] for t in active if knowledge.technique(t["id"]) is None]

    assert len(active) == 691
    assert missing == []


def test_v19_split_resolves_old_and_new_ids(knowledge: AttackKnowledge) -> None:
    changes = json.loads((SHARED / "attack_v19_changes.json").read_text("utf-8"))

    for revocation in changes["revocations"]:
        old = knowledge.technique(revocation["old_id"])
        new = knowledge.technique(revocation["revoked_by"])
        assert old is not None and old.superseded_by == revocation["revoked_by"]
        assert new is not None and revocation["old_id"] in new.replaces

    tools = knowledge.technique("T1685")
    assert tools is not None
    assert tools.tactics == ["Defense Impairment"]
    assert tools.mitigations  # borrowed from T1562.001, which it replaced
    stealth = knowledge.technique("T1027")
    assert stealth is not None
    assert stealth.tactics == ["Stealth (formerly Defense Evasion)"]


def test_new_v19_technique_without_predecessor_still_resolves(
    knowledge: AttackKnowledge,
) -> None:
    info = knowledge.technique("T1682")

    assert info is not None
    assert info.name == "Query Public AI Services"
    assert info.attack_version == "19"


def test_source_marks_unknown_ids_and_keeps_origin() -> None:
    source = AttackSource("attack", None)
    entities = IncidentEntities(
        technique_ids=["T1059.001"], proposed_technique_ids=["T9999", "T1685"]
    )

    found = source.lookup(entities)

    assert [(f["id"], f["origin"], f["known"]) for f in found] == [
        ("T1059.001", "alerts", True),
        ("T9999", "model", False),
        ("T1685", "model", True),
    ]
