"""The XSOAR automation in deploy/xsoar/ calls the real webhook correctly."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType

import pytest
import yaml
from werkzeug.serving import make_server

from appliance import create_app
from appliance.config import Settings
from appliance.db.engine import Database
from tests.conftest import REPO
from tests.fakes import xsoar

SCRIPT = REPO / "deploy" / "xsoar" / "ApplianceSendIncident.py"
SECRET = "xsoar-secret"


@pytest.fixture
def appliance_url(settings: Settings, db: Database) -> Iterator[str]:
    app = create_app(replace(settings, webhook_secret=SECRET))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    app.extensions["appliance"].db.dispose()


def run_script(args: dict, incident: dict) -> xsoar.XsoarRun:
    run = xsoar.XsoarRun(args, incident)
    xsoar.install(run)
    try:
        spec = importlib.util.spec_from_file_location("xsoar_script", SCRIPT)
        assert spec and spec.loader
        module = ModuleType("xsoar_script")
        spec.loader.exec_module(module)
        module.main()
    finally:
        xsoar.uninstall()
    return run


def test_script_queues_the_incident_and_dedupes(appliance_url: str) -> None:
    args = {"appliance_url": appliance_url, "webhook_secret": SECRET}
    incident = {"CustomFields": {"xdrincidentid": "101", "xdrmodificationtime": 77}}

    first = run_script(args, incident)
    second = run_script(args, incident)

    assert not first.errors and not second.errors
    assert first.results[0].outputs["created"] is True
    assert second.results[0].outputs["created"] is False
    assert first.results[0].outputs["job_id"] == second.results[0].outputs["job_id"]


def test_script_reports_a_wrong_secret(appliance_url: str) -> None:
    run = run_script(
        {"appliance_url": appliance_url, "webhook_secret": "nope", "incident_id": "9"},
        {},
    )

    assert run.errors and "401" in run.errors[0]


def test_yaml_declares_the_script_arguments() -> None:
    spec = yaml.safe_load(SCRIPT.with_suffix(".yml").read_text())
    names = {arg["name"] for arg in spec["args"]}

    assert {"appliance_url", "webhook_secret", "incident_id"} <= names
    assert next(a for a in spec["args"] if a["name"] == "webhook_secret")["secret"]
