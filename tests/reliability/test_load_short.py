"""A short run of the load harness (scripts/bench/bench_load.py) in the test suite.

The real web service (gunicorn) and two real workers run against SQLite and the XDR
sandbox while locust, in its own process, sends signed webhooks and API reads. After
the queue drains, every accepted webhook has its ingest job, every incident was
analyzed and written back, no write-back reached XDR twice, and no reply was a 5xx.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "bench_load.py"


def _bench_load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


def test_short_load_loses_no_incident_and_answers_no_5xx(tmp_path: Path) -> None:
    bench = _bench_load()

    with bench.running_rig(
        workers=2, incidents=6, data_dir=str(tmp_path), model="none"
    ) as rig:
        step = bench.run_step(rig, users=4, seconds=6, sequence_base=0)
        drained = bench.drain(rig, 25)
        report = bench.durability(rig, set(step.pop("accepted_job_ids")))
        alive = rig.alive()

    assert step["requests"] > 20
    assert step["server_errors"] == 0, step["errors"]
    assert step["errors"] == {}
    assert report["webhooks_accepted"] > 10
    assert report["lost"] == 0
    assert report["ingest_states"] == {"succeeded": report["ingest_jobs"]}
    # An incident re-reported after its write-back changed it is analyzed again.
    assert set(report["analyze_states"]) == {"succeeded"}
    assert report["incidents_written_back"] == 6
    assert report["write_backs_pending"] == 0
    assert report["write_back_mismatches"] == []
    assert drained < 25
    assert all(alive.values()), alive
