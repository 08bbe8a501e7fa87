"""Importing a full official ATT&CK bundle replaces the packaged knowledge."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.enrich.attack import AttackKnowledge
from appliance.enrich.attack_import import import_bundle
from appliance.enrich.source import SourceUnavailable

DATA = Path(__file__).resolve().parent.parent / "data"


def test_imported_v19_bundle_is_used_and_revoked_ids_follow(tmp_path: Path) -> None:
    summary = import_bundle(DATA / "attack_bundle_v19.json", tmp_path)

    assert summary["attack_version"] == "19.0"
    assert (summary["techniques"], summary["revoked"], summary["tactics"]) == (2, 1, 3)
    knowledge = AttackKnowledge.load(tmp_path)
    new = knowledge.technique("T1685")
    old = knowledge.technique("T1562.001")
    assert new is not None and new.description.endswith("official bundle.")
    assert new.mitigations == [
        {"id": "M1022", "name": "Restrict File and Directory Permissions"}
    ]
    assert new.tactics == ["Defense Impairment"]
    assert old is not None
    assert (old.id, old.asked_as, old.superseded_by) == ("T1685", "T1562.001", "T1685")
    shell = knowledge.technique("T1059.001")
    assert shell is not None and shell.detection == [
        "Monitor for loading of System.Management.Automation.dll."
    ]


def test_not_a_bundle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"type": "indicator"}', encoding="utf-8")

    with pytest.raises(SourceUnavailable, match="not a STIX bundle"):
        import_bundle(path, tmp_path)
    assert not (tmp_path / "attack").exists()
