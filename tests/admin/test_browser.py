"""The admin console in headless Chromium, against a real server and worker.

One appliance is served on loopback for the module (werkzeug in a thread, a migrated
SQLite database) with a real worker thread that carries out model activations on the
tiny test model. Debian's chromium is driven by Playwright; no browser is
downloaded. Every test leaves a screenshot under test-output/admin/.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from appliance import create_app
from appliance.auth.roles import Role
from appliance.config import Settings, load_settings
from appliance.db import migrate
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.governance.tables import Approval, Feedback, RolloutSetting
from appliance.jobs.worker import Worker
from appliance.llm import activation
from appliance.llm.manifests import load_manifest
from appliance.xdr.tables import OutboxEntry, OutboxState
from tests.conftest import REPO
from tests.fakes.access import PASSWORD, make_account
from tests.fakes.console import INCIDENT_ID, seed_activity, seed_approval, seed_incident

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-output" / "admin"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
TINY = "smollm2-135m-instruct"
IMPORTED = "smollm2-135m-imported"


class QuietRequestHandler(WSGIRequestHandler):
    """Serve requests without a log line each (failures show the page instead)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


@dataclass
class Console:
    """The running appliance the browser talks to."""

    url: str
    db: Database
    settings: Settings
    approval_id: int
    model_file: Path
    manifest_file: Path


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Serve the appliance on loopback with a worker thread beside it."""
    root = tmp_path_factory.mktemp("console")
    settings = load_settings(
        {
            "data_dir": str(root / "data"),
            "log_level": "WARNING",
            "secret_key": "browser-test-secret-key",
            "worker_poll_seconds": 0.2,
            "llm_backend": "llama_cpp",
            "llm_threads": 2,
            "llm_preload": False,
        },
        environ={},
    )
    db = Database(settings.resolved_database_url)
    migrate.upgrade(db)
    for role in Role:
        make_account(db, settings, role.value, role)
    seed_incident(db, settings, HOSTILE_NAME)
    approval_id = seed_approval(db, settings)
    seed_activity(db, settings)

    # A copy of the tiny model's manifest under a new name, not tied to its package,
    # so the console can import the file into the model store.
    tiny = load_manifest(TINY, settings)
    manifest = tiny.model_dump(mode="json", exclude={"source"})
    manifest["name"] = IMPORTED
    manifest_file = root / f"{IMPORTED}.yaml"
    manifest_file.write_text(yaml.safe_dump(manifest))

    app = create_app(settings)
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler
    )
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    # The worker takes no jobs (the queued ones stay for the overview's chart);
    # it beats, and its activation duty swaps models.
    worker = Worker(db, settings, kinds=["none"], worker_id="browser-worker")
    previous_runtime = activation._current
    runtime = activation.attach(worker)
    working = threading.Thread(target=worker.run, daemon=True)
    working.start()

    yield Console(
        url=f"http://127.0.0.1:{server.server_port}",
        db=db,
        settings=settings,
        approval_id=approval_id,
        model_file=tiny.resolve_path(settings),
        manifest_file=manifest_file,
    )

    worker.stop()
    working.join(10)
    runtime.close()
    activation._current = previous_runtime
    server.shutdown()
    server.server_close()
    serving.join(10)
    app.extensions["appliance"].db.dispose()
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Start Debian's chromium once for the module."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (scripts/install installs it with apt)")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, console: Console, request: pytest.FixtureRequest):
    """Open a fresh browser context (no cookies); save a screenshot at the end."""
    context = browser.new_context(base_url=console.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page, role: Role) -> None:
    """Sign in through the form as the account named after ``role``."""
    page.goto("/admin/login")
    page.get_by_label("Username").fill(role.value)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()


def test_sign_in_and_the_overview_draws_its_charts(page) -> None:
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Sign in needed")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    sign_in(page, Role.VIEWER)

    queue = page.get_by_role("img", name="Jobs by state")
    expect(queue.locator("title", has_text="queued:")).to_have_text("queued: 3 jobs")
    expect(queue.locator("title", has_text="dead:")).to_have_text("dead: 0 jobs")
    first_result = page.get_by_role("img", name="Time to first AI result, last 7 days")
    expect(first_result.locator("title")).to_have_text(re.compile(r": 12\.0 min$"))
    expect(page.get_by_text("viewer (viewer)")).to_be_visible()
    # A viewer sees no admin pages in the navigation.
    expect(page.get_by_role("link", name="Audit")).to_have_count(0)


def test_analyst_approves_from_the_queue_and_the_change_is_released(
    page, console: Console
) -> None:
    sign_in(page, Role.ANALYST)
    page.get_by_role("link", name="Approvals").click()
    card = page.get_by_role(
        "article", name=re.compile(f"^Approval {console.approval_id}:")
    )
    card.get_by_label("Comment").fill("benign admin script, checked with IT")
    card.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Approval {console.approval_id} approved."
    )
    decided = page.get_by_role("region", name="Recent decisions")
    expect(
        decided.get_by_role("row", name=re.compile("approved analyst"))
    ).to_be_visible()
    with console.db.read_session() as session:
        approval = session.get(Approval, console.approval_id)
        assert approval is not None and approval.state == "approved"
        released = session.get(OutboxEntry, int(approval.applied_ref or 0))
        outcomes = session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.action == "approval.approve", AuditEvent.actor == "analyst"
            )
        ).all()
    assert released is not None and released.state == OutboxState.QUEUED
    assert outcomes == ["attempt", "success"]


def test_admin_imports_and_activates_a_model_and_sees_the_health_check(
    page, console: Console
) -> None:
    sign_in(page, Role.ADMIN)
    page.get_by_role("link", name="Models").click()
    page.get_by_label("Model file path on the appliance").fill(str(console.model_file))
    page.get_by_label("Manifest file path (optional)").fill(str(console.manifest_file))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Imported {IMPORTED}")

    page.get_by_role("button", name=f"Activate {IMPORTED}").click()
    expect(page.locator("#swap-h")).to_contain_text(IMPORTED)
    # The page reloads itself until the worker has loaded, checked and swapped.
    expect(page.locator("#swap-result")).to_have_text(
        f"passed; {IMPORTED} serves now", timeout=60_000
    )
    expect(page.locator("#swap-progress")).to_have_attribute("value", "3")
    expect(
        page.get_by_role("row", name=re.compile(f"{IMPORTED} admin active"))
    ).to_contain_text("health prompt answered")
    expect(page.get_by_role("cell", name="browser-worker")).to_be_visible(timeout=5_000)


def test_audit_viewer_filters_and_verifies_the_chain(page) -> None:
    sign_in(page, Role.ADMIN)
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Actor").fill("admin")
    page.get_by_label("Action starts with").fill("login")
    page.get_by_label("Outcome").select_option("success")
    page.get_by_role("button", name="Filter").click()

    assert "actor=admin" in page.url and "outcome=success" in page.url
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("login")
    for text in rows.all_inner_texts():
        assert "\tadmin\tlogin\tsuccess" in text, text
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.locator("#verify-result")).to_have_text("The audit chain is intact.")


def test_a_phase_is_changed_with_the_keyboard_alone(page, console: Console) -> None:
    sign_in(page, Role.ADMIN)
    page.goto("/admin/settings/phases")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Tenant")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#task")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("hunting")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Phase")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Phase")).to_have_value("suggest")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Set phase")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text(
        "Phase of hunting for default set to suggest."
    )
    with console.db.read_session() as session:
        row = session.scalars(
            select(RolloutSetting).where(RolloutSetting.task == "hunting")
        ).one()
    assert (row.phase, row.updated_by) == ("suggest", "admin")


def test_hostile_alert_name_is_shown_as_text_and_feedback_is_given(
    page, console: Console
) -> None:
    sign_in(page, Role.ANALYST)
    page.get_by_role("link", name="Incidents").click()
    page.get_by_role("link", name=INCIDENT_ID).click()

    alerts = page.get_by_role("region", name="Alerts")
    expect(alerts.get_by_role("cell", name=HOSTILE_NAME, exact=True)).to_be_visible()
    expect(page.locator("img")).to_have_count(0)
    for section in ("Evidence pack", "Enrichment", "Similar past incidents"):
        expect(page.get_by_role("region", name=section)).to_be_visible()
    facts = page.get_by_role("table", name="Alert facts")
    expect(facts.get_by_role("cell", name="AL1", exact=True)).to_be_visible()

    page.get_by_label("inaccurate").check()
    page.get_by_label("Reason").fill("the host is a build server")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("status")).to_contain_text("recorded: inaccurate")
    assert page.dialogs == []
    with console.db.read_session() as session:
        feedback = session.scalars(select(Feedback)).one()
    assert (feedback.actor, feedback.rating) == ("analyst", "inaccurate")
