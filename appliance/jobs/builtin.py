"""Jobs the appliance itself needs, independent of any XDR tenant."""

from __future__ import annotations

import platform
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.db import migrate
from appliance.db.tables import Job
from appliance.governance import audit
from appliance.jobs.registry import JobContext, job_handler


@job_handler("system.selftest")
def selftest(ctx: JobContext) -> dict[str, Any]:
    """Check that the worker can read and write the database and its schema is current.

    The audit row is written in the completing transaction, so a selftest that runs
    twice after a lost lease still leaves exactly one row.
    """
    with ctx.db.read_session() as session:
        jobs = session.scalar(select(func.count()).select_from(Job)) or 0
    schema_current = migrate.is_current(ctx.db)

    def write_audit(session: Session) -> None:
        audit.record(
            session,
            actor=f"worker:{ctx.worker_id}",
            action="system.selftest",
            outcome="success" if schema_current else "failure",
            tenant=ctx.settings.tenant,
            target=f"job:{ctx.job_id}",
            correlation_id=ctx.correlation_id,
            details={"schema_current": schema_current},
        )

    ctx.defer(write_audit)

    return {
        "database": ctx.db.url.get_backend_name(),
        "schema_current": schema_current,
        "jobs_in_queue_table": jobs,
        "python": platform.python_version(),
        "worker_id": ctx.worker_id,
    }
