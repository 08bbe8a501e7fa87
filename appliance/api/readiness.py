"""Readiness checks behind /readyz.

Each check returns a :class:`Check`. A failing required check makes the appliance
not ready (503); a degraded one is reported but keeps it ready, because the appliance
still does useful work (for example on the CPU model after the GPU failed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select, text

from appliance.config import Settings
from appliance.db import migrate
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.db.tables import WorkerHeartbeat
from appliance.privacy.readiness import check_scrubber
from appliance.xdr.readiness import check_xdr


@dataclass
class Check:
    """The outcome of one readiness check."""

    name: str
    status: str  # "ok", "degraded" or "failed"
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the check as JSON-ready data."""
        return asdict(self)


CheckFunc = Callable[[Database, Settings], Check]


def check_database(db: Database, _settings: Settings) -> Check:
    """Check that the database answers a trivial query."""
    with db.read_session() as session:
        session.execute(text("SELECT 1"))

    return Check("database", "ok", db.url.get_backend_name())


def check_migrations(db: Database, _settings: Settings) -> Check:
    """Check that the schema is at the revisions the code expects."""
    current, heads = migrate.current_revisions(db), migrate.head_revisions(db)
    if current == heads:
        return Check("migrations", "ok", ",".join(sorted(current)))

    return Check(
        "migrations",
        "failed",
        "run `appliance db upgrade`",
        {"current": sorted(current), "expected": sorted(heads)},
    )


def _live_workers(db: Database, settings: Settings) -> list[WorkerHeartbeat]:
    """Return the workers seen within the staleness window."""
    since = utcnow() - dt.timedelta(seconds=settings.worker_stale_seconds)
    with db.read_session() as session:
        rows = session.scalars(
            select(WorkerHeartbeat)
            .where(
                WorkerHeartbeat.last_seen_at >= since,
                WorkerHeartbeat.state != "stopped",
            )
            .order_by(WorkerHeartbeat.last_seen_at.desc())
        )
        return list(rows)


def check_worker(db: Database, settings: Settings) -> Check:
    """Check that at least one worker reported in recently."""
    workers = _live_workers(db, settings)
    if not workers:
        return Check(
            "worker",
            "failed",
            f"no worker seen in the last {settings.worker_stale_seconds:g} s",
        )

    return Check(
        "worker",
        "ok",
        f"{len(workers)} live",
        {"workers": [w.worker_id for w in workers]},
    )


def check_model(db: Database, settings: Settings) -> Check:
    """Report the model backend state the workers see (only workers load models)."""
    workers = _live_workers(db, settings)
    states: list[dict[str, Any]] = [
        w.info["model"]
        for w in workers
        if isinstance((w.info or {}).get("model"), dict)
    ]
    if not states:
        return Check("model", "degraded", "no worker reports a loaded model backend")
    state = states[0]
    status = "ok" if state.get("status") == "ready" else "degraded"

    return Check("model", status, str(state.get("detail", "")), state)


# Other domains append their checks here (for example the privacy scrubber's NER model).
CHECKS: list[CheckFunc] = [
    check_database,
    check_migrations,
    check_worker,
    check_model,
    check_scrubber,
    check_xdr,
]


def run_checks(db: Database, settings: Settings) -> list[Check]:
    """Run every check; a check that raises is reported as failed, not propagated."""
    results = []
    for func in CHECKS:
        name = func.__name__.removeprefix("check_")
        try:
            results.append(func(db, settings))
        except Exception as exc:
            results.append(Check(name, "failed", type(exc).__name__))

    return results
