"""The demo runs the real web service and worker processes end to end."""

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_serves_and_processes_a_job_end_to_end(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("APPLIANCE_") or key.startswith("APPLIANCE_TEST_")
    }
    env.update(APPLIANCE_DATA_DIR=str(tmp_path / "data"), APPLIANCE_LOG_LEVEL="WARNING")
    appliance = Path(sys.executable).with_name("appliance")

    result = subprocess.run(
        [str(appliance), "demo", "--once", "--bind", f"127.0.0.1:{_free_port()}"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout
    assert "demo complete" in result.stdout
