"""The bundle's requirements file pins every wheel by name, version and sha256."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import REPO

SCRIPT = REPO / "scripts" / "offline" / "requirements_from_wheels.py"


def test_every_wheel_becomes_a_hashed_pin(tmp_path: Path) -> None:
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(
        b"a"
    )
    (tmp_path / "Flask-3.1.3-py3-none-any.whl").write_bytes(b"b")
    (tmp_path / "notes.txt").write_text("not a wheel")

    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()

    assert out == [
        f"Flask==3.1.3 --hash=sha256:{hashlib.sha256(b'b').hexdigest()}",
        f"torch==2.13.0+cpu --hash=sha256:{hashlib.sha256(b'a').hexdigest()}",
    ]
