"""A plug-in job kind for bench_scaleout.py: a stand-in for one model call.

It sleeps for the payload's ``ms`` (the time a GPU or another host would spend on
the call) and completes, so the benchmark measures what the appliance adds: claims,
leases, heartbeats and completions of several workers on one database.
"""

from __future__ import annotations

import time
from typing import Any

from appliance.jobs.registry import JobContext, job_handler


@job_handler("bench.model_call")
def model_call(ctx: JobContext) -> dict[str, Any]:
    """Wait as long as the model call would take."""
    time.sleep(float(ctx.payload.get("ms", 0)) / 1000)
    return {"ok": True}
