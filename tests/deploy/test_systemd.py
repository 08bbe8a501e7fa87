"""The systemd units pass `systemd-analyze verify` and are hardened."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, REPO, undeclared_settings

UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "User": "appliance",
}


def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text(encoding="utf-8"))
    return parser["Service"]


def test_there_are_units_for_serve_worker_and_vllm() -> None:
    assert [u.name for u in UNITS] == [
        "appliance-serve.service",
        "appliance-vllm.service",
        "appliance-worker@.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_hardened(unit: Path) -> None:
    service = _service(unit)

    for key, value in HARDENING.items():
        assert service.get(key) == value, key
    assert service.get("ReadWritePaths") == "/var/lib/appliance"
    assert service.get("CapabilityBoundingSet") == ""


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_sets_only_declared_settings(unit: Path) -> None:
    assert undeclared_settings(unit.read_text(encoding="utf-8")) == set()


def test_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd)")
    # The units name /opt/appliance, where the offline bundle installs; verify
    # checks that ExecStart exists, so point them at this checkout's environment.
    names = []
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8").replace("/opt/appliance", str(REPO))
        name = unit.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(text, encoding="utf-8")
        names.append(str(tmp_path / name))

    result = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr, result.stderr
    assert "ignoring" not in result.stderr, result.stderr
