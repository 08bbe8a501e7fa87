import re

import pytest

from appliance.api.openapi import ATTRIBUTE
from appliance.auth import guard
from appliance.auth.roles import Role
from tests.fakes.access import PASSWORD, bearer, make_account, make_key

OPEN = {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"}
HTTPS = "https://localhost"


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in OPEN:
            continue
        view = app.view_functions[rule.endpoint]
        url = re.sub(r"<(?:int:)?(\w+)>", lambda m: "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, url, view


def test_every_route_is_guarded_or_declared_open(app):
    for rule, _method, _url, view in _routes(app):
        spec = getattr(view, ATTRIBUTE, {}) or {}
        signed = "webhookSignature" in (spec.get("security") or [])
        assert (
            hasattr(view, guard.ROLE_ATTRIBUTE)
            or hasattr(view, guard.PUBLIC_ATTRIBUTE)
            or signed
        ), rule


def test_every_guarded_route_refuses_anonymous_and_lesser_roles(app, db, settings):
    client = app.test_client()
    keys = {role: make_key(db, settings, role) for role in Role}
    for rule, method, url, view in _routes(app):
        needed = getattr(view, guard.ROLE_ATTRIBUTE, None)
        if needed is None:
            continue
        anonymous = client.open(url, method=method, json={})
        assert anonymous.status_code == 401, (method, rule)
        for role in Role:
            if not role.allows(needed):
                answer = client.open(
                    url, method=method, json={}, headers=bearer(keys[role])
                )
                assert answer.status_code == 403, (method, rule, role)


def test_viewer_cannot_approve_and_analyst_cannot_change_settings(client, db, settings):
    viewer = bearer(make_key(db, settings, Role.VIEWER))
    analyst = bearer(make_key(db, settings, Role.ANALYST))

    assert (
        client.post(
            "/api/v1/approvals/1/approve", json={"comment": "x"}, headers=viewer
        ).status_code
        == 403
    )
    assert (
        client.put(
            "/api/v1/phases", json={"tenant": "t", "phase": "automate"}, headers=analyst
        ).status_code
        == 403
    )
    assert client.get("/api/v1/settings", headers=analyst).status_code == 403


def test_revoked_and_unscoped_keys_are_refused(client, db, settings):
    admin = bearer(make_key(db, settings, Role.ADMIN))
    key = make_key(db, settings, Role.ANALYST, ["jobs"])
    key_id = key.split("_")[1]

    assert client.get("/api/v1/jobs", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/approvals", headers=bearer(key)).status_code == 403
    assert (
        client.post(f"/api/v1/keys/{key_id}/revoke", headers=admin).status_code == 200
    )
    assert client.get("/api/v1/jobs", headers=bearer(key)).status_code == 401


def _login(client, username, password=PASSWORD):
    return client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        base_url=HTTPS,
    )


def test_session_cookie_is_secure_and_forms_need_the_csrf_token(app, db, settings):
    make_account(db, settings, "alice", Role.ANALYST)
    client = app.test_client()
    signed_in = _login(client, "alice")
    cookie = signed_in.headers["Set-Cookie"]

    assert signed_in.status_code == 200
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    no_token = client.post("/api/v1/jobs/1/cancel", data={"x": "1"}, base_url=HTTPS)
    token = signed_in.get_json()["csrf_token"]
    with_token = client.post(
        "/api/v1/jobs/1/cancel", data={"csrf_token": token}, base_url=HTTPS
    )

    assert (
        no_token.status_code == 403
        and "CSRF" in no_token.get_json()["error"]["message"]
    )
    assert with_token.status_code == 404  # past the guard: there is no job 1


def test_brute_force_login_is_throttled(app, db, settings):
    make_account(db, settings, "bob", Role.VIEWER)
    client = app.test_client()

    failures = [
        _login(client, "bob", "wrong guess " + str(i)).status_code
        for i in range(settings.login_max_failures)
    ]
    after = _login(client, "bob")

    assert failures == [401] * settings.login_max_failures
    assert after.status_code == 429


def test_sign_out_ends_the_session(app, db, settings):
    make_account(db, settings, "carol", Role.VIEWER)
    client = app.test_client()
    token = _login(client, "carol").get_json()["csrf_token"]

    assert client.get("/api/v1/auth/me", base_url=HTTPS).status_code == 200
    assert (
        client.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": token}, base_url=HTTPS
        ).status_code
        == 204
    )
    assert client.get("/api/v1/auth/me", base_url=HTTPS).status_code == 401


@pytest.fixture
def sso_settings(settings):
    from dataclasses import replace

    return replace(
        settings, sso_user_header="X-Remote-User", sso_trusted_proxies="10.0.0.1"
    )


def test_sso_header_is_trusted_only_from_the_proxy(sso_settings, db):
    from appliance import create_app

    app = create_app(sso_settings)
    client = app.test_client()
    header = {"X-Remote-User": "dave"}

    trusted = client.get(
        "/api/v1/auth/me", headers=header, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    spoofed = client.get(
        "/api/v1/auth/me", headers=header, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )

    assert trusted.status_code == 200 and trusted.get_json()["via"] == "sso"
    assert spoofed.status_code == 401
    app.extensions["appliance"].db.dispose()
