"""Locust users for bench_load.py: signed XDR webhooks plus API reads.

bench_load.py runs this file with ``locust --headless`` in a process of its own and
passes what the users need in the environment:

    LOAD_WEBHOOK_SECRET   the appliance's webhook secret
    LOAD_API_KEY          an API key with the ``jobs`` and ``approvals`` scopes
    LOAD_INCIDENTS        "FIRST:COUNT", the incident ids the XDR sandbox holds
    LOAD_SEQUENCE_BASE    where this step's modification times start, so every
                          webhook of the whole run is a distinct incident version
    LOAD_STATUS_FILE      where to write the replies by route and status, and the
                          ids of the ingest jobs the accepted webhooks created

Every webhook names one incident of the sandbox (round robin) at a fresh
modification time, so each accepted webhook is one ingest job; a 202 is a success,
anything else a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

from locust import HttpUser, between, events, task

from appliance.intake.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SECRET = os.environ.get("LOAD_WEBHOOK_SECRET", "")
API_KEY = os.environ.get("LOAD_API_KEY", "")
FIRST, _, COUNT = os.environ.get("LOAD_INCIDENTS", "1000:1").partition(":")
STATUS_FILE = os.environ.get("LOAD_STATUS_FILE", "")
STATUSES: dict[str, int] = {}
ACCEPTED: list[int] = []
SEQUENCE = itertools.count(int(os.environ.get("LOAD_SEQUENCE_BASE", "0")))


class Connector(HttpUser):
    """A connector that reports incidents, and an analyst's client that reads."""

    wait_time = between(0.1, 0.3)

    def on_start(self) -> None:
        self.job_ids: list[int] = []
        self.auth = {"Authorization": f"Bearer {API_KEY}"}

    @task(3)
    def webhook(self) -> None:
        n = next(SEQUENCE)
        body = json.dumps(
            {
                "incident_id": str(int(FIRST) + n % int(COUNT)),
                "modification_time": 1_700_000_000_000 + n,
            }
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(SECRET, stamp, body),
        }
        with self.client.post(
            "/api/v1/webhooks/xdr",
            data=body,
            headers=headers,
            name="webhook",
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                response.failure(f"status {response.status_code}")
                return
            job_id = int(response.json()["job_id"])
            self.job_ids = [*self.job_ids[-20:], job_id]
            ACCEPTED.append(job_id)
            response.success()

    @task(1)
    def list_jobs(self) -> None:
        self.client.get("/api/v1/jobs?limit=20", headers=self.auth, name="jobs")

    @task(1)
    def read_job(self) -> None:
        if self.job_ids:
            self.client.get(
                f"/api/v1/jobs/{self.job_ids[-1]}", headers=self.auth, name="job"
            )

    @task(1)
    def approvals(self) -> None:
        self.client.get("/api/v1/approvals", headers=self.auth, name="approvals")

    @task(1)
    def metrics(self) -> None:
        self.client.get("/metrics", name="metrics")


@events.request.add_listener
def count_status(name: str, response: Any, exception: Any, **_kwargs: Any) -> None:
    """Count every reply by route and status (connection errors by their type)."""
    status = getattr(response, "status_code", 0) or type(exception).__name__
    key = f"{name} {status}"
    STATUSES[key] = STATUSES.get(key, 0) + 1


@events.quitting.add_listener
def write_statuses(**_kwargs: Any) -> None:
    """Leave the status counts and accepted job ids where bench_load.py reads them."""
    if STATUS_FILE:
        with open(STATUS_FILE, "w", encoding="utf-8") as out:
            json.dump({"statuses": STATUSES, "accepted_job_ids": ACCEPTED}, out)
