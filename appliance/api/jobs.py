"""Job queue API: list, inspect and cancel jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.app_state import state
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.db.tables import Job, JobState
from appliance.errors import NotFound, ValidationFailed
from appliance.jobs import queue

bp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")


class JobOut(BaseModel):
    """A job as the API shows it."""

    id: int
    kind: str
    state: str
    attempts: int
    max_attempts: int
    run_after: dt.datetime
    created_at: dt.datetime
    finished_at: dt.datetime | None
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    last_error: str | None
    correlation_id: str | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """Serialize a job row (its payload is left out: it may hold incident data)."""
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state.value,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            run_after=job.run_after,
            created_at=job.created_at,
            finished_at=job.finished_at,
            progress=job.progress,
            result=job.result,
            last_error=job.last_error,
            correlation_id=job.correlation_id,
        )


class JobList(BaseModel):
    """A page of jobs, newest first."""

    jobs: list[JobOut]
    counts: dict[str, int]


@bp.get("")
@document(
    "List recent jobs, optionally by state.", tags=["jobs"], responses={200: JobList}
)
@require_role(Role.VIEWER)
def list_jobs() -> ResponseReturnValue:
    """Return up to ``limit`` jobs (default 50), newest first."""
    wanted = request.args.get("state")
    if wanted is not None and wanted not in {s.value for s in JobState}:
        raise ValidationFailed(f"unknown job state {wanted!r}")
    try:
        limit = min(max(int(request.args.get("limit", "50")), 1), 500)
    except ValueError:
        raise ValidationFailed("limit must be an integer") from None
    statement = select(Job).order_by(Job.id.desc()).limit(limit)
    if wanted:
        statement = statement.where(Job.state == JobState(wanted))
    with state(current_app).db.read_session() as session:
        jobs = [JobOut.of(job) for job in session.scalars(statement)]
        counts = queue.counts_by_state(session)

    return jsonify(JobList(jobs=jobs, counts=counts).model_dump(mode="json"))


@bp.get("/<int:job_id>")
@document("Show one job.", tags=["jobs"], responses={200: JobOut, 404: "No such job"})
@require_role(Role.VIEWER)
def get_job(job_id: int) -> ResponseReturnValue:
    """Return one job with its progress, result or last error."""
    with state(current_app).db.read_session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        body = JobOut.of(job)

    return jsonify(body.model_dump(mode="json"))


@bp.post("/<int:job_id>/cancel")
@document(
    "Cancel a queued job, or ask a running one to stop.",
    tags=["jobs"],
    responses={202: JobOut, 404: "No such job", 409: "Already finished"},
)
@require_role(Role.ANALYST)
def cancel_job(job_id: int) -> ResponseReturnValue:
    """Cancel the job; a running job stops at its next heartbeat."""
    job = queue.cancel(state(current_app).db, job_id)

    return jsonify(JobOut.of(job).model_dump(mode="json")), 202
