"""The worker's enrichment job, from entities or from a stored incident."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.enrich.jobs import enrich_incident
from appliance.enrich.service import feed_folder
from appliance.enrich.tables import IncidentEnrichment
from appliance.errors import PermanentJobError
from appliance.jobs.registry import JobContext
from appliance.xdr.tables import XdrAlert, XdrIncident

DATA = Path(__file__).resolve().parent.parent / "data"


def run(
    db: Database, settings: Settings, payload: dict[str, object]
) -> dict[str, object]:
    ctx = JobContext(
        db=db,
        settings=settings,
        worker_id="w",
        job_id=1,
        kind="enrich.incident",
        payload=dict(payload),
        attempt=1,
    )
    result = enrich_incident(ctx)
    with db.session() as session:
        ctx.run_deferred(session)
    return result


def test_stored_incident_is_enriched_and_the_context_kept(
    db: Database, settings: Settings
) -> None:
    feed_folder(settings, "cmdb").mkdir(parents=True)
    shutil.copy(DATA / "cmdb_assets.csv", feed_folder(settings, "cmdb"))
    with db.session() as session:
        session.add(
            XdrIncident(
                tenant=settings.tenant,
                incident_id="501",
                status="new",
                severity="high",
                fetched_at=dt.datetime.now(dt.UTC),
            )
        )
        session.add(
            XdrAlert(
                tenant=settings.tenant,
                incident_id="501",
                alert_id="a1",
                data={
                    "host_name": "WS-FIN-6341",
                    "mitre_technique_id_and_name": ["T1003.001 - LSASS Memory"],
                },
            )
        )

    result = run(db, settings, {"incident_id": "501"})
    run(db, settings, {"incident_id": "501"})

    assert result["sources"] == {
        "cmdb-file": "ok",
        "cmdb-http": "not_configured",
        "vulnerability-scans": "not_configured",
        "threat-intel": "not_configured",
        "attack": "ok",
    }
    with db.read_session() as session:
        rows = list(session.scalars(select(IncidentEnrichment)))
    assert len(rows) == 1
    assert rows[0].context["business_unit_impact"] == "Finance"
    assert rows[0].context["likely_attack_technique"] == "T1003.001 - LSASS Memory"


def test_unknown_incident_is_a_permanent_failure(
    db: Database, settings: Settings
) -> None:
    with pytest.raises(PermanentJobError):
        run(db, settings, {"incident_id": "nope"})
