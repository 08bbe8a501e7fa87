"""Fuzz every route of the OpenAPI document in process: no 5xx, one error shape.

Schemathesis generates requests for each operation of ``/api/v1/openapi.json``
(bodies that fit the schema and bodies that break it, odd path parameters) and sends
them to the WSGI app with an admin API key, so the fuzzer gets past authentication.
Each operation gets a fresh app on a fresh, migrated database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings

from appliance import create_app
from appliance.api.openapi import build_document
from appliance.auth.roles import Role
from appliance.config import Settings, load_settings
from appliance.db.engine import Database
from tests.fakes.access import bearer, make_key

# Generated examples per operation, on top of schemathesis's explicit coverage
# examples: enough to reach every route's validation, and the file stays near a
# minute on two cores. Derandomized, so a failure reproduces on the next run.
EXAMPLES = 6


def _document() -> dict[str, Any]:
    """Return the OpenAPI document, built from the URL map of a bare app.

    Building it touches no database; every test calls its own app instead.
    """
    bare = create_app(load_settings({"database_url": "sqlite://"}, environ={}))
    return build_document(bare)


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def fuzz_app(settings: Settings, db: Database) -> Iterator[Flask]:
    """Return the app with webhooks switched on, as in production."""
    application = create_app(replace(settings, webhook_secret="fuzz-webhook-secret"))
    application.config["TESTING"] = True
    yield application
    application.extensions["appliance"].db.dispose()


@pytest.fixture
def admin_headers(db: Database, settings: Settings) -> dict[str, str]:
    """Return the header of an admin API key with every scope."""
    return bearer(make_key(db, settings, Role.ADMIN))


def assert_error_shape(response: Any, path: str) -> None:
    """Check that an error answer is the one JSON error body.

    The admin console renders the refusals of its services as HTML pages for the
    browser; every other error, there too, is the JSON body.
    """
    content_type = response.headers.get("content-type", [""])[0]
    if path.startswith("/admin/") and content_type.startswith("text/html"):
        assert response.text.lstrip().lower().startswith("<!doctype html>")
        return
    assert content_type.startswith("application/json"), content_type
    error = response.json()["error"]
    assert error["status"] == response.status_code
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_route_answers_without_server_error(
    case: Any, fuzz_app: Flask, admin_headers: dict[str, str]
) -> None:
    response = case.call(app=fuzz_app, headers=admin_headers)
    where = (case.method, case.formatted_path, response.text[:300])

    if (case.method, case.path) == ("GET", "/readyz"):
        # Not ready (no worker in a test) is its documented answer, with its checks.
        assert response.status_code in (200, 503), where
        assert response.json()["checks"]
        return
    assert response.status_code < 500, where
    if response.status_code >= 400:
        assert_error_shape(response, case.path)


INT_ROUTES = [
    (method, path)
    for path, operations in _document()["paths"].items()
    for method, operation in operations.items()
    if any(p["schema"]["type"] == "integer" for p in operation.get("parameters", []))
]


@pytest.mark.parametrize(("method", "path"), INT_ROUTES)
@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_an_id_too_large_for_the_database_is_not_found(
    fuzz_app: Flask,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    number: int,
) -> None:
    url = path
    while "{" in url:
        start, end = url.index("{"), url.index("}")
        url = url[:start] + str(number) + url[end + 1 :]

    answer = fuzz_app.test_client().open(
        url, method=method.upper(), headers=admin_headers, json={}
    )

    assert answer.status_code in (400, 404, 422), (url, answer.get_data()[:300])
    assert answer.get_json()["error"]["status"] == answer.status_code


@pytest.mark.parametrize("limit", ["99999999999999999999", "-99999999999999999999"])
def test_audit_query_numbers_too_large_are_refused(
    fuzz_app: Flask, admin_headers: dict[str, str], limit: str
) -> None:
    client = fuzz_app.test_client()

    listing = client.get(f"/api/v1/audit?limit={limit}", headers=admin_headers)
    export = client.get(f"/api/v1/audit/export?since_id={limit}", headers=admin_headers)

    assert listing.status_code == export.status_code == 422
