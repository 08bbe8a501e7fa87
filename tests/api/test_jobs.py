import pytest

from appliance.auth.roles import Role
from appliance.jobs import queue
from tests.fakes.access import make_key


@pytest.fixture
def client(app, settings):
    """Return a test client that presents an analyst's API key scoped to jobs."""
    key = make_key(app.extensions["appliance"].db, settings, Role.ANALYST, ["jobs"])
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return test_client


def _enqueue(app, kind="system.selftest"):
    with app.extensions["appliance"].db.session() as session:
        job, _ = queue.enqueue(session, kind, {"secret": "payload"})
        return job.id


def test_list_jobs_shows_counts_and_leaves_payloads_out(app, client):
    job_id = _enqueue(app)

    body = client.get("/api/v1/jobs").get_json()

    assert body["counts"]["queued"] == 1
    assert body["jobs"][0]["id"] == job_id
    assert "payload" not in body["jobs"][0]


def test_list_jobs_validates_its_filters(client):
    assert client.get("/api/v1/jobs?state=exploded").status_code == 422
    assert client.get("/api/v1/jobs?limit=lots").status_code == 422


def test_get_and_cancel_a_job(app, client):
    job_id = _enqueue(app)

    assert client.get(f"/api/v1/jobs/{job_id}").get_json()["state"] == "queued"
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel")
    again = client.post(f"/api/v1/jobs/{job_id}/cancel")

    assert cancelled.status_code == 202 and cancelled.get_json()["state"] == "cancelled"
    assert again.status_code == 409
    assert client.get("/api/v1/jobs/424242").status_code == 404
