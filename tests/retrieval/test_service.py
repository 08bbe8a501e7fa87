"""Similar past incidents through the database, the real model and the index."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.retrieval.embedder import Embedder
from appliance.retrieval.service import SimilarIncidents, index_folder

NOW = dt.datetime.now(dt.UTC)

PAST = [
    (
        "101",
        "acme",
        10,
        "Ransomware: vssadmin deleted shadow copies, files encrypted "
        "with .lock extension on file server",
        ["T1490", "T1486"],
        "resolved_true_positive",
    ),
    (
        "102",
        "acme",
        20,
        "Password spray against Azure AD from one IP, many failed "
        "sign-ins then one success",
        ["T1110.003"],
        "resolved_true_positive",
    ),
    (
        "103",
        "acme",
        900,
        "Ransomware note dropped and shadow copies deleted on a "
        "laptop, files encrypted",
        ["T1486", "T1490"],
        "resolved_true_positive",
    ),
    (
        "104",
        "globex",
        5,
        "Shadow copies deleted by vssadmin and data encrypted by ransomware",
        ["T1490"],
        "resolved_true_positive",
    ),
    (
        "105",
        "acme",
        30,
        "Scheduled SCCM inventory script flagged as PowerShell execution",
        ["T1059.001"],
        "resolved_false_positive",
    ),
]


def record_all(service: SimilarIncidents, db: Database) -> None:
    with db.session() as session:
        for incident_id, tenant, days, summary, techniques, resolution in PAST:
            service.record_closed(
                session,
                {
                    "incident_id": incident_id,
                    "tenant": tenant,
                    "closed_at": NOW - dt.timedelta(days=days),
                    "summary": summary,
                    "techniques": techniques,
                    "entities": {"hosts": ["FS-01"]},
                    "resolution": resolution,
                    "closure_notes": "Host isolated and reimaged.",
                },
            )


def test_rebuild_then_query_filters_by_tenant_and_age(
    db: Database, settings: Settings, embedder: Embedder
) -> None:
    service = SimilarIncidents(db, settings, embedder)
    record_all(service, db)

    built = service.rebuild()
    found = service.similar(
        "vssadmin delete shadows followed by mass file encryption",
        tenant="acme",
        max_age_days=365,
    )

    assert built == {"generation": 1, "vectors": 5, "kind": "exact"}
    assert (index_folder(settings) / "gen-1.faiss").is_file()
    assert found[0].incident_id == "101"
    assert found[0].resolution == "resolved_true_positive"
    assert {f.incident_id for f in found} == {"101", "102", "105"}  # 103 too old
    assert found[0].similarity > found[-1].similarity


def test_closing_an_incident_adds_it_for_other_readers(
    db: Database, settings: Settings, embedder: Embedder
) -> None:
    writer = SimilarIncidents(db, settings, embedder)
    reader = SimilarIncidents(db, settings, embedder)
    record_all(writer, db)
    writer.rebuild()
    assert reader.current() is not None

    with db.session() as session:
        row = writer.record_closed(
            session,
            {
                "incident_id": "106",
                "summary": "Kerberoasting: many TGS requests for service accounts "
                "with RC4 encryption",
                "techniques": ["T1558.003"],
                "resolution": "resolved_true_positive",
            },
        )
        session.expunge(row)
    generation = writer.add(row)
    found = reader.similar("TGS requests with RC4 for SPN accounts", k=1)

    assert generation == 2
    assert [f.incident_id for f in found] == ["106"]
    assert found[0].tenant == settings.tenant


def test_no_index_yet_gives_no_results(
    db: Database, settings: Settings, embedder: Embedder
) -> None:
    assert SimilarIncidents(db, settings, embedder).similar("anything") == []


def test_a_node_catches_up_with_incidents_closed_on_another_node(
    db: Database, settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    # Two nodes share the database; each keeps its own index in its data directory.
    node_a = SimilarIncidents(db, settings, embedder)
    node_b = SimilarIncidents(
        db, replace(settings, data_dir=str(tmp_path / "node-b")), embedder
    )
    record_all(node_a, db)
    node_a.rebuild()
    assert node_b.similar("anything", max_age_days=0) != []  # built from the database

    with db.session() as session:
        row = node_a.record_closed(
            session,
            {
                "incident_id": "107",
                "summary": "DCSync: directory replication requested by a workstation",
                "techniques": ["T1003.006"],
                "resolution": "resolved_true_positive",
            },
        )
        session.expunge(row)
    node_a.add(row)
    found = node_b.similar("replication of the directory from a workstation", k=1)

    assert [f.incident_id for f in found] == ["107"]
    assert len(node_b.current() or []) == len(PAST) + 1
    assert node_b.catch_up() is None  # nothing left to add
