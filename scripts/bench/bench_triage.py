"""Benchmark triage of a 10-alert incident on the default CPU model.

Prints, as JSON: the evidence pack's estimated and real prompt tokens, the time to
first token, the total time of the triage task (target: at most 60 s) and the
appliance's time outside the model as a share of the total (target: at most 5 %).
Run with ``APPLIANCE_LLM_THREADS=2`` to measure on two cores. ``--all-tasks`` then
runs every arrival task (triage, root cause, copilot, response) on the same incident,
as the ``incident.analyze`` job does, and reports the time per incident and the
incidents an hour one model instance gives: the figure of the capacity plan.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench  # noqa: E402

from appliance.config import load_settings  # noqa: E402
from appliance.db.engine import Database  # noqa: E402
from appliance.db.migrate import upgrade  # noqa: E402
from appliance.llm.manifests import default_manifest  # noqa: E402
from appliance.llm.runtime import ModelRuntime  # noqa: E402
from appliance.privacy.service import scrubber_for  # noqa: E402
from appliance.tasks.pipeline import TASKS, analyze, narrator_for  # noqa: E402

SAMPLES = REPO / "appliance" / "xdr" / "sandbox_data"


def ten_alert_incident() -> dict:
    """Return one incident made of ten alerts from the sandbox samples."""
    replies = [
        json.loads(p.read_text())["reply"] for p in sorted(SAMPLES.glob("10*.json"))
    ]
    reply = copy.deepcopy(replies[0])
    alerts = [a for r in replies[:4] for a in copy.deepcopy(r["alerts"]["data"])]
    reply["alerts"]["data"] = alerts[:10]
    reply["incident"]["alert_count"] = 10

    return reply


def main() -> None:
    """Run triage once warm (model loaded) and report the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all-tasks", action="store_true")
    args = parser.parse_args()
    bench = Bench("triage")
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            {
                "data_dir": str(REPO / "var"),
                "database_url": f"sqlite:///{folder}/bench.db",
            }
        )
        db = Database(settings.resolved_database_url)
        upgrade(db)
        scrubber = scrubber_for(settings)
        runtime = ModelRuntime(db, settings)
        manifest = default_manifest(settings)
        started = time.perf_counter()
        runtime.activate(manifest.name)
        bench.record("model", manifest.name)
        bench.record("model_load_s", round(time.perf_counter() - started, 2))
        reply = ten_alert_incident()
        vault = scrubber.new_vault("bench")
        narrator = narrator_for(
            settings, scrubber, vault, runtime, db=db, model_name=manifest.name
        )
        # Warm the scrubber (Presidio, spaCy) outside the measurement.
        analyze(reply, narrator_for(settings, scrubber, vault, None), tasks=["triage"])
        analysis = analyze(
            reply,
            narrator,
            tasks=["triage"],
            budget=settings.task_evidence_budget_tokens,
        )
        result = analysis.results["triage"]
        from appliance.llm.tables import ModelCall

        with db.read_session() as session:
            call = (
                session.get(ModelCall, result.prompt_record_id)
                if (result.prompt_record_id)
                else None
            )
            prompt_tokens = call.prompt_tokens if call else None
            ttft = call.time_to_first_token_s if call else None
        bench.record("alerts", len(analysis.pack.alert_ids))
        bench.record("evidence_pack_tokens_estimated", analysis.pack.tokens)
        bench.record("prompt_tokens", prompt_tokens)
        bench.record("time_to_first_token_s", ttft)
        bench.record("total_s", analysis.timings["total_s"])
        bench.record("model_s", analysis.timings["model_s"])
        bench.record("outside_model_share", analysis.timings["outside_model_share"])
        bench.record("source", result.source)
        bench.record("targets", {"total_s": 60, "outside_model_share": 0.05})
        if args.all_tasks:
            every = analyze(
                reply,
                narrator_for(
                    settings,
                    scrubber,
                    scrubber.new_vault("bench-all"),
                    runtime,
                    db=db,
                    model_name=manifest.name,
                ),
                tasks=TASKS,
                budget=settings.task_evidence_budget_tokens,
            )
            seconds = every.timings["total_s"]
            bench.record(
                "all_tasks",
                {
                    "tasks": list(TASKS),
                    "sources": {t: r.source for t, r in every.results.items()},
                    "total_s": seconds,
                    "incidents_per_hour": round(3600 / seconds, 1),
                },
            )
        runtime.close()
    bench.report()


if __name__ == "__main__":
    main()
