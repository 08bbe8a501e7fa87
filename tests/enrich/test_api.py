"""The enrichment panel of an incident, read from what the worker stored."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient

from appliance.auth.roles import Role
from appliance.config import Settings
from appliance.db.engine import Database
from appliance.enrich.jobs import store_context
from appliance.enrich.model import EnrichmentContext, SourceResult
from appliance.xdr.tables import XdrIncident
from tests.fakes.access import bearer, make_key


def test_stored_context_shows_every_source_and_failure(
    client: FlaskClient, db: Database, settings: Settings
) -> None:
    context = EnrichmentContext(
        incident_id="88",
        tenant=settings.tenant,
        sources=[
            SourceResult(
                source="cmdb-file",
                kind="asset",
                status="ok",
                findings=[{"hostname": "WS-1", "criticality": "high"}],
            ),
            SourceResult(
                source="threat-intel",
                kind="indicator",
                status="failed",
                error="cannot read feed.json: FileNotFoundError",
            ),
        ],
        asset_criticality="high",
    )
    with db.session() as session:
        store_context(session, context)
    key = make_key(db, settings, Role.VIEWER, ["incidents"])

    response = client.get("/api/v1/incidents/88/context", headers=bearer(key))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["failed_sources"]) == ("enriched", 1)
    sources = {s["source"]: s for s in body["context"]["sources"]}
    assert sources["threat-intel"]["error"].startswith("cannot read feed.json")
    assert body["context"]["asset_criticality"] == "high"


def test_known_incident_without_context_is_pending(
    client: FlaskClient, db: Database, settings: Settings
) -> None:
    with db.session() as session:
        session.add(
            XdrIncident(
                tenant=settings.tenant,
                incident_id="89",
                status="new",
                severity="high",
                fetched_at=dt.datetime.now(dt.UTC),
            )
        )
    key = make_key(db, settings, Role.VIEWER)

    pending = client.get("/api/v1/incidents/89/context", headers=bearer(key))
    missing = client.get("/api/v1/incidents/90/context", headers=bearer(key))

    assert pending.get_json()["status"] == "pending"
    assert missing.status_code == 404


def test_context_needs_a_caller(client: FlaskClient) -> None:
    assert client.get("/api/v1/incidents/88/context").status_code == 401
