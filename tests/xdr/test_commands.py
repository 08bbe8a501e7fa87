"""`appliance xdr-sandbox` serves a tenant the client can use."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from appliance.xdr.client import XdrClient
from appliance.xdr.errors import XdrTransportError
from tests.fakes.processes import free_port


def test_xdr_sandbox_command_serves_the_samples(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env.update(
        APPLIANCE_DATA_DIR=str(tmp_path),
        APPLIANCE_LOG_LEVEL="WARNING",
        APPLIANCE_XDR_API_KEY_ID="7",
        APPLIANCE_XDR_API_KEY="cli-test-key",
        APPLIANCE_XDR_KEY_TYPE="standard",
    )
    appliance = Path(sys.executable).with_name("appliance")
    process = subprocess.Popen(
        [str(appliance), "xdr-sandbox", "--bind", f"127.0.0.1:{port}", "--copies", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        client = XdrClient(
            f"http://127.0.0.1:{port}",
            "7",
            "cli-test-key",
            key_type="standard",
            max_attempts=1,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                quota = client.get_quota()
                break
            except XdrTransportError:
                assert time.monotonic() < deadline, "the sandbox did not come up"
                assert process.poll() is None, "the sandbox exited"
                time.sleep(0.3)
        extra = client.get_incident_extra_data("104")
        client.close()
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)

    assert quota.license_quota == 1000
    assert extra.incident.incident_sources == ["XDR Analytics", "AWS"]
    assert f"127.0.0.1:{port} with 9 incidents" in out
    assert "cli-test-key" not in out  # a configured key is never printed
