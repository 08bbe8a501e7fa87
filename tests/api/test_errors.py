import logging

import pytest

from appliance import errors


def _error_routes(app):
    """Add routes that raise each error, before the app serves its first request."""

    def raise_appliance_error(name: str):
        raise getattr(errors, name)(f"{name} happened", details={"field": "x"})

    def raise_unexpected():
        raise RuntimeError("database password is hunter2")

    app.add_url_rule("/test/raise/<name>", view_func=raise_appliance_error)
    app.add_url_rule("/test/crash", view_func=raise_unexpected)


@pytest.fixture
def raising_client(app):
    _error_routes(app)
    return app.test_client()


def _assert_error_shape(response, status, code):
    body = response.get_json()
    assert response.status_code == status
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("BadRequest", 400, "bad_request"),
        ("Unauthorized", 401, "unauthorized"),
        ("Forbidden", 403, "forbidden"),
        ("NotFound", 404, "not_found"),
        ("Conflict", 409, "conflict"),
        ("PayloadTooLarge", 413, "payload_too_large"),
        ("UnsupportedMediaType", 415, "unsupported_media_type"),
        ("ValidationFailed", 422, "validation_failed"),
        ("RateLimited", 429, "rate_limited"),
    ],
)
def test_every_client_error_has_the_one_shape(raising_client, name, status, code):
    response = raising_client.get(f"/test/raise/{name}")

    _assert_error_shape(response, status, code)
    assert response.get_json()["error"]["details"] == {"field": "x"}


def test_a_crash_is_a_bare_500_and_the_traceback_goes_to_the_log(
    raising_client, caplog
):
    with caplog.at_level(logging.ERROR):
        response = raising_client.get("/test/crash", headers={"X-Request-ID": "req-42"})

    _assert_error_shape(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert any(getattr(r, "request_id", None) == "req-42" for r in caplog.records)


def test_unknown_route_and_wrong_method_use_the_shape(client):
    _assert_error_shape(client.get("/api/v1/nothing-here"), 404, "not_found")
    wrong = client.delete("/api/v1/jobs")
    _assert_error_shape(wrong, 405, "method_not_allowed")
    assert "GET" in wrong.headers["Allow"]


def test_oversized_body_is_refused_with_413(app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = app.test_client().post(
        "/api/v1/jobs/1/cancel", data=b"x" * 5000, content_type="application/json"
    )

    _assert_error_shape(response, 413, "payload_too_large")


def test_malformed_request_ids_are_replaced():
    from appliance.app import _REQUEST_ID

    assert _REQUEST_ID.match("abc-123")
    assert not _REQUEST_ID.match("bad id\nwith newline")
