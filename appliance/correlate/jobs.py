"""The ``correlate.cluster`` job: cluster a batch of alerts in the worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from appliance.correlate import service
from appliance.correlate.alerts import InvalidAlert
from appliance.errors import PermanentJobError
from appliance.jobs.registry import JobContext, job_handler

# Rows of the per-alert result kept on the job; larger runs keep only the summary
# and the stored suggestions.
MAX_RESULT_ROWS = 20_000


@job_handler("correlate.cluster")
def cluster_job(ctx: JobContext) -> dict[str, Any]:
    """Cluster ``payload["alerts"]`` and store one suggestion per cluster.

    The suggestions are written in the transaction that completes the job, so a
    retried job never stores them twice.
    """
    raws = ctx.payload.get("alerts")
    if not isinstance(raws, list):
        raise PermanentJobError("payload.alerts must be a list of alert objects")
    ctx.report_progress(0, len(raws), "clustering")
    try:
        run = service.run_clustering(
            raws, ctx.settings, embeddings=service.encoder_cache(ctx.settings)
        )
    except InvalidAlert as exc:
        raise PermanentJobError(exc.message) from None
    run_id = f"job-{ctx.job_id}"

    def store(session: Session) -> None:
        service.store_suggestions(
            session,
            ctx.settings.tenant,
            run_id,
            run,
            [r for r in raws if isinstance(r, dict)],
        )

    ctx.defer(store)
    ctx.report_progress(len(raws), len(raws), "done")
    result: dict[str, Any] = {"run_id": run_id, **run.summary()}
    if len(run.rows) <= MAX_RESULT_ROWS:
        result["assignments"] = run.rows

    return result
