"""Worker jobs: a closed incident is stored and indexed; a rebuild re-embeds all."""

from __future__ import annotations

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.jobs.registry import JobContext
from appliance.retrieval import jobs
from appliance.retrieval.embedder import Embedder
from appliance.retrieval.service import SimilarIncidents


def context(
    db: Database, settings: Settings, kind: str, payload: dict[str, object]
) -> JobContext:
    return JobContext(
        db=db,
        settings=settings,
        worker_id="w",
        job_id=1,
        kind=kind,
        payload=payload,
        attempt=1,
    )


def test_closed_incident_is_indexed_and_rebuild_keeps_it(
    db: Database, settings: Settings, embedder: Embedder
) -> None:
    jobs._embedders[None] = embedder
    payload = {
        "incident_id": "900",
        "summary": "Mimikatz dumped LSASS memory on a domain controller",
        "techniques": ["T1003.001 - LSASS Memory"],
        "entities": {"hosts": ["DC01"]},
        "resolution": "resolved_true_positive",
        "closed_at": "2026-03-01T10:00:00+00:00",
    }

    added = jobs.incident_closed(
        context(db, settings, "retrieval.incident_closed", payload)
    )
    again = jobs.incident_closed(
        context(db, settings, "retrieval.incident_closed", payload)
    )
    rebuilt = jobs.rebuild(context(db, settings, "retrieval.rebuild", {}))
    found = SimilarIncidents(db, settings, embedder).similar(
        "credential dumping from lsass", max_age_days=0
    )

    assert added["past_incident_id"] == again["past_incident_id"]
    assert rebuilt["vectors"] == 1
    assert [f.incident_id for f in found] == ["900"]
