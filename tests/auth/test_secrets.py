"""No secret reaches the logs, the audit trail or an error body."""

import logging

from sqlalchemy import select

from appliance.auth.roles import Role
from appliance.db.tables import AuditEvent
from appliance.governance import audit_export
from tests.fakes.access import PASSWORD, bearer, make_account, make_key

HTTPS = "https://localhost"


def test_no_secret_in_logs_audit_rows_or_error_bodies(app, db, settings, caplog):
    caplog.set_level(logging.DEBUG)
    make_account(db, settings, "erin", Role.ADMIN)
    client = app.test_client()
    bodies = []
    login = client.post(
        "/api/v1/auth/login",
        json={"username": "erin", "password": PASSWORD},
        base_url=HTTPS,
    )
    cookie = login.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    bodies.append(
        client.post(
            "/api/v1/auth/login", json={"username": "erin", "password": PASSWORD + "x"}
        ).get_data(as_text=True)
    )
    key = make_key(db, settings, Role.ADMIN)
    created = client.post(
        "/api/v1/keys",
        json={"name": "xsoar", "scopes": ["intake"]},
        headers=bearer(key),
    )
    new_key = created.get_json()["key"]
    bodies.append(
        client.get("/api/v1/jobs", headers=bearer(key + "tampered")).get_data(
            as_text=True
        )
    )
    bodies.append(
        client.post(
            "/api/v1/users",
            json={"username": "f", "password": "short", "role": "viewer"},
            headers=bearer(key),
        ).get_data(as_text=True)
    )
    bodies.append(
        client.get("/api/v1/settings", headers=bearer(key)).get_data(as_text=True)
    )
    with db.read_session() as session:
        rows = [audit_export.jsonl_line(e) for e in session.scalars(select(AuditEvent))]

    haystack = "\n".join([caplog.text, *bodies, *rows])
    secrets = [PASSWORD, key, key.split("_")[2], new_key, cookie, settings.secret_key]
    assert rows and all(secret not in haystack for secret in secrets)
