"""The operator's GPU check, rehearsed here on the CPU build of vLLM.

``scripts/gpu_check.sh`` is run on a GPU server, which CI does not have. With
``GPU_CHECK_CPU=1`` it runs every step against the CPU build the vLLM tests use: the
installs, ``vllm serve``, the appliance's vLLM backend on a batch of prompts, ``vllm
bench serve`` on the same prompts and the side-by-side report. So the script cannot
rot between GPU runs; only the GPU build and the figures go unchecked.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes.processes import free_port

pytestmark = pytest.mark.vllm


def test_the_gpu_check_runs_every_step_on_the_cpu_build(tmp_path: Path) -> None:
    if not (REPO / ".venv-vllm" / "bin" / "python").exists():
        pytest.skip("run scripts/vllm-env first (scripts/test does)")
    environ = {
        **os.environ,
        "GPU_CHECK_CPU": "1",
        "PROMPTS": "3",
        "PROMPT_TOKENS": "200",
        "MAX_TOKENS": "8",
        "PORT": str(free_port()),
        "OUT": str(tmp_path),
    }

    done = subprocess.run(
        ["scripts/gpu_check.sh"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["appliance_backend"]["requests"] == 3
    assert report["appliance_backend"]["succeeded"] == 3
    assert report["appliance_backend"]["output_tokens_per_s"] > 0
    assert report["vllm_bench"]["requests_per_s"] > 0
    assert (tmp_path / "vllm_bench.json").exists()
