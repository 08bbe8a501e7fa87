from appliance.db.base import utcnow
from appliance.db.tables import WorkerHeartbeat


def _beat(app, **info):
    now = utcnow()
    with app.extensions["appliance"].db.session() as session:
        session.add(
            WorkerHeartbeat(
                worker_id="w1",
                hostname="box",
                pid=1,
                started_at=now,
                last_seen_at=now,
                state="idle",
                info=info,
            )
        )


def test_healthz_answers_while_alive(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_fails_without_a_worker_and_says_why(client):
    response = client.get("/readyz")
    checks = {c["name"]: c for c in response.get_json()["checks"]}

    assert response.status_code == 503
    assert checks["database"]["status"] == "ok"
    assert checks["migrations"]["status"] == "ok"
    assert checks["worker"]["status"] == "failed"
    assert "no worker seen" in checks["worker"]["detail"]


def test_readyz_is_ready_but_degraded_when_the_model_is_not_loaded(app, client):
    _beat(app, model={"status": "unavailable", "detail": "no GPU; using llama.cpp"})

    response = client.get("/readyz")
    body = response.get_json()
    checks = {c["name"]: c for c in body["checks"]}

    assert response.status_code == 200
    assert checks["worker"]["status"] == "ok"
    assert checks["model"]["status"] == "degraded"
    assert body["status"] == "degraded"


def test_metrics_expose_queue_and_http_figures(app, client):
    _beat(app)
    client.get("/healthz")

    text = client.get("/metrics").get_data(as_text=True)

    assert 'appliance_jobs{state="queued"} 0.0' in text
    assert "appliance_workers_live 1.0" in text
    assert (
        'appliance_http_requests_total{method="GET",route="/healthz",status="200"}'
        in text
    )
