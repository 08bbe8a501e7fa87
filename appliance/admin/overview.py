"""The overview page: model, queue, readiness, XDR reach, phases and impact."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.typing import ResponseReturnValue

from appliance.admin import queries
from appliance.admin.blueprint import app_state, bp, page
from appliance.admin.chart import bar_chart
from appliance.api.openapi import document
from appliance.api.readiness import run_checks
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.db.base import utcnow
from appliance.governance import impact
from appliance.governance.gate import phase_for
from appliance.jobs.queue import counts_by_state, oldest_queued_age

# The tasks whose rollout phase the overview shows.
TASKS = ("triage", "root_cause", "response", "closure", "hunting", "correlate")


@bp.get("/")
@document(
    "Show what the appliance is doing now.", tags=["admin"], content_type="text/html"
)
@require_role(Role.VIEWER, scope="jobs")
def overview() -> ResponseReturnValue:
    """Show what the appliance is doing now."""
    state = app_state()
    settings = state.settings
    checks = run_checks(state.db, settings)
    with state.db.read_session() as session:
        workers = queries.live_workers(session, settings)
        counts = counts_by_state(session)
        context: dict[str, Any] = {
            "models": queries.model_states(workers),
            "workers": workers,
            "counts": counts,
            "oldest_queued_seconds": oldest_queued_age(session),
            "finished_last_hour": queries.jobs_finished_since(
                session, utcnow() - dt.timedelta(hours=1)
            ),
            "dead": queries.dead_jobs(session),
            "polling": queries.xdr_polling(session),
            "outbox": queries.outbox_counts(session),
            "phases": {
                task: phase_for(session, settings, settings.tenant, task).value
                for task in TASKS
            },
            "impact": impact.figures(session, settings),
            "queue_chart": bar_chart("Jobs by state", dict(counts), unit="jobs"),
            "ttfr_chart": bar_chart(
                "Time to first AI result, last 7 days",
                queries.time_to_first_result_by_day(session),
                unit="min",
            ),
        }

    return page("overview.html", checks=checks, tenant=settings.tenant, **context)
