"""Job handlers used by the tests, loaded into workers with ``--import``.

Each handler's completion leaves one audit row (written through ``ctx.defer``), so a
test can count how many times a job really completed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from appliance.errors import JobError, PermanentJobError
from appliance.governance import audit
from appliance.jobs.registry import JobContext, job_handler


def _leave_effect(ctx: JobContext) -> None:
    def write(session: Session) -> None:
        audit.record(
            session,
            actor=f"worker:{ctx.worker_id}",
            action="test.effect",
            outcome="info",
            target=f"job:{ctx.job_id}",
        )

    ctx.defer(write)


@job_handler("test.effect")
def effect(ctx: JobContext) -> dict[str, Any]:
    """Complete at once, leaving one effect."""
    _leave_effect(ctx)
    return {"attempt": ctx.attempt}


@job_handler("test.sleep")
def sleep(ctx: JobContext) -> dict[str, Any]:
    """Sleep ``seconds`` on the first attempt (to be killed), then finish.

    With ``once`` (a file path) it sleeps on the first run only, whatever the attempt
    count says: a job released on shutdown keeps its attempt count at zero.
    """
    first = ctx.attempt == 1
    if "once" in ctx.payload:
        marker = Path(ctx.payload["once"])
        first = not marker.exists()
        marker.touch()
    seconds = float(ctx.payload.get("seconds", 1.0)) if first else 0.0
    deadline = time.monotonic() + seconds
    step = 0
    while time.monotonic() < deadline:
        if ctx.should_stop:
            return {"stopped": True}
        step += 1
        ctx.report_progress(step, int(seconds * 10) or 1, "sleeping")
        time.sleep(0.1)
    _leave_effect(ctx)
    return {"attempt": ctx.attempt}


@job_handler("test.fail")
def fail(ctx: JobContext) -> dict[str, Any]:
    """Fail the first ``failures`` attempts (all when absent), retryably or not."""
    failures = int(ctx.payload.get("failures", 10**6))
    if ctx.attempt <= failures:
        if ctx.payload.get("permanent"):
            raise PermanentJobError("the input cannot be processed")
        raise JobError(f"attempt {ctx.attempt} failed on purpose")
    _leave_effect(ctx)
    return {"attempt": ctx.attempt}
