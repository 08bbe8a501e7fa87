"""The connector webhook: signature, replay window, body bound, dedupe, 202."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from appliance import create_app
from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import Job
from appliance.xdr.ingest import INGEST_KIND
from tests.fakes.webhooks import post_signed

SECRET = "webhook-test-secret"


@pytest.fixture
def webhook_app(settings: Settings, db: Database) -> Iterator[Flask]:
    from dataclasses import replace

    application = create_app(
        replace(settings, webhook_secret=SECRET, webhook_max_body_bytes=2048)
    )
    application.config["TESTING"] = True
    yield application
    application.extensions["appliance"].db.dispose()


@pytest.fixture
def hook(webhook_app: Flask) -> FlaskClient:
    return webhook_app.test_client()


def jobs(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == INGEST_KIND)
        )


def test_signed_webhook_is_accepted_with_its_job(
    hook: FlaskClient, db: Database
) -> None:
    response = post_signed(hook, {"incident_id": "101", "modification_time": 5}, SECRET)

    assert response.status_code == 202
    body = response.get_json()
    assert body["created"] is True and body["incident_id"] == "101"
    with db.read_session() as session:
        job = session.get(Job, body["job_id"])
        assert job.kind == INGEST_KIND
        assert job.payload == {"incident_id": "101", "source": "webhook"}


def test_same_incident_and_modification_time_enqueue_one_job(
    hook: FlaskClient, db: Database
) -> None:
    first = post_signed(hook, {"incident_id": "7", "modification_time": 10}, SECRET)
    nested = {"incident": {"incident_id": "7", "modification_time": 10}}
    again = post_signed(hook, nested, SECRET)
    changed = post_signed(hook, {"incident_id": 7, "modification_time": 11}, SECRET)

    assert first.get_json()["job_id"] == again.get_json()["job_id"]
    assert again.get_json()["created"] is False
    assert changed.get_json()["created"] is True
    assert jobs(db) == 2


def test_extra_data_reply_shape_is_accepted(hook: FlaskClient) -> None:
    from tests.conftest import SHARED

    path = SHARED / "fixtures" / "xdr" / "get_incident_extra_data.json"
    reply = json.loads(path.read_text())["reply"]
    small = {"incident": reply["incident"]}

    assert post_signed(hook, small, SECRET).status_code == 202


def test_bad_signature_is_refused(hook: FlaskClient, db: Database) -> None:
    response = post_signed(hook, {"incident_id": "1"}, "wrong")

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert jobs(db) == 0


def test_stale_timestamp_is_refused_as_replay(hook: FlaskClient) -> None:
    old = int(time.time()) - 301
    response = post_signed(hook, {"incident_id": "1"}, SECRET, timestamp=old)

    assert response.status_code == 401
    assert "window" in response.get_json()["error"]["message"]


def test_missing_headers_are_refused(hook: FlaskClient) -> None:
    response = hook.post("/api/v1/webhooks/xdr", json={"incident_id": "1"})

    assert response.status_code == 401


def test_body_over_the_bound_is_refused(hook: FlaskClient, db: Database) -> None:
    response = post_signed(hook, {"incident_id": "1", "padding": "x" * 4096}, SECRET)

    assert response.status_code == 413
    assert jobs(db) == 0


def test_body_without_an_incident_id_is_invalid(hook: FlaskClient) -> None:
    response = post_signed(hook, {"something": "else"}, SECRET)

    assert response.status_code == 422
    assert response.get_json()["error"]["details"]


def test_not_json_is_a_bad_request(hook: FlaskClient) -> None:
    assert post_signed(hook, b"not json", SECRET).status_code == 400


def test_webhooks_are_off_without_a_secret(client: FlaskClient) -> None:
    response = client.post("/api/v1/webhooks/xdr", json={"incident_id": "1"})

    assert response.status_code == 503


def test_route_is_documented_with_its_signature_scheme(hook: FlaskClient) -> None:
    document = hook.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/webhooks/xdr"]["post"]

    assert operation["security"] == [{"webhookSignature": []}]
    assert "202" in operation["responses"]
