"""The demo runs the real web service and worker processes end to end."""

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.processes import free_port

REPO = Path(__file__).resolve().parent.parent


def test_demo_serves_and_processes_a_job_end_to_end(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("APPLIANCE_") or key.startswith("APPLIANCE_TEST_")
    }
    env.update(APPLIANCE_DATA_DIR=str(tmp_path / "data"), APPLIANCE_LOG_LEVEL="WARNING")
    appliance = Path(sys.executable).with_name("appliance")

    result = subprocess.run(
        [str(appliance), "demo", "--once", "--bind", f"127.0.0.1:{free_port()}"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout
    assert "demo complete" in result.stdout
