from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.auth.roles import Role
from appliance.config import Settings
from tests.fakes.access import make_key


@pytest.fixture
def client(app: Flask, settings: Settings) -> FlaskClient:
    """Return a test client that presents an analyst's API key scoped to privacy."""
    db = app.extensions["appliance"].db
    key = make_key(db, settings, Role.ANALYST, ["privacy"])
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return test_client


def test_scrub_needs_an_analyst(app: Flask) -> None:
    response = app.test_client().post("/api/v1/scrub", json={"data": "x"})

    assert response.status_code == 401


def test_scrub_text(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/scrub", json={"data": "logon by CORP\\jdoe", "report": True}
    )

    body = response.get_json()
    assert response.status_code == 200
    assert "jdoe" not in body["data"]
    assert body["entities"] == {"USER_NAME": 1}
    assert body["findings"][0]["entity_type"] == "USER_NAME"
    assert "jdoe" not in str(body["findings"])


def test_scrub_with_incident_vault_is_consistent(client: FlaskClient) -> None:
    first = client.post(
        "/api/v1/scrub", json={"data": {"host_name": "WS-9"}, "incident_id": "INC-1"}
    ).get_json()
    second = client.post(
        "/api/v1/scrub", json={"data": "seen on WS-9", "incident_id": "INC-1"}
    ).get_json()

    assert second["data"] == f"seen on {first['data']['host_name']}"
    assert first["vault_id"] == second["vault_id"]


def test_invalid_input_is_a_clear_error(client: FlaskClient) -> None:
    deep: object = "x"
    for _ in range(60):
        deep = [deep]

    assert client.post("/api/v1/scrub", json={"nope": 1}).status_code == 422
    too_deep = client.post("/api/v1/scrub", json={"data": deep})
    assert too_deep.status_code == 422
    assert too_deep.get_json()["error"]["code"] == "scrub_input_invalid"


def test_body_is_bounded(client: FlaskClient, app) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]

    response = client.post("/api/v1/scrub", json={"data": "a" * (limit + 1)})

    assert response.status_code == 413
