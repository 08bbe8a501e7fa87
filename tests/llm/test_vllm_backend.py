"""Contract tests of the vLLM backend against a real vLLM server on the CPU.

``scripts/vllm-env`` builds the server's own virtual environment (.venv-vllm) and
the tiny model in Hugging Face format; ``scripts/test`` runs these tests, and
``-m "not vllm"`` skips them. Few requests with short outputs keep them to minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from appliance.config import Settings, load_settings
from appliance.llm.errors import GenerationTimeout
from appliance.llm.manifests import Manifest, load_manifest
from appliance.llm.store import directory_sha256
from appliance.llm.vllm_backend import VllmBackend, VllmOptions
from tests.conftest import REPO
from tests.fakes.scrubbed_prompts import SYSTEM, scrubbed_prompt

# Enums only: vLLM's grammar does not bound string lengths, and a tiny model rambles.
TRIAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "severity": {"type": "string", "enum": ["low", "medium", "high"]},
        "verdict": {"type": "string", "enum": ["benign", "malicious", "unknown"]},
        "escalate": {"type": "boolean"},
    },
    "required": ["severity", "verdict", "escalate"],
    "additionalProperties": False,
}

VENV_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
MODEL_DIR = REPO / ".venv-vllm" / "models" / "smollm2-135m-instruct"


def test_without_a_gpu_it_says_why_it_is_unavailable() -> None:
    found = VllmBackend(load_settings({}, environ={})).is_available()

    assert not found.available
    assert "no GPU" in found.reason


@pytest.fixture(scope="module")
def vllm_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmBackend]:
    if not (VENV_PYTHON.exists() and (MODEL_DIR / "config.json").exists()):
        pytest.skip("run scripts/vllm-env first (scripts/test does)")
    settings: Settings = load_settings(
        {
            "data_dir": str(tmp_path_factory.mktemp("vllm")),
            "vllm_executable": str(VENV_PYTHON),
            "llm_timeout_seconds": 120,
        },
        environ={},
    )
    manifest: Manifest = load_manifest("smollm2-135m-instruct").model_copy(
        update={
            "name": "smollm2-hf",
            "format": "hf",
            "file": str(MODEL_DIR),
            "size": None,
            "sha256": directory_sha256(MODEL_DIR),
            "backends": ["vllm"],
            "source": load_manifest("smollm2-135m-instruct").source.model_copy(
                update={"package": None}
            ),
        }
    )
    backend = VllmBackend(
        settings,
        allow_cpu=True,
        # Eager mode: no graph compilation, which takes minutes on two cores.
        server_args=[
            "--max-model-len",
            "2048",
            "--dtype",
            "float32",
            "--enforce-eager",
        ],
        server_env={"VLLM_CPU_KVCACHE_SPACE": "1"},
    )
    backend.load(manifest)
    yield backend
    backend.unload()


@pytest.mark.vllm
def test_the_supervised_server_answers_its_health_prompt(
    vllm_backend: VllmBackend,
) -> None:
    assert vllm_backend.is_available().available
    assert vllm_backend.health().available
    assert vllm_backend.server is not None and vllm_backend.server.alive()


@pytest.mark.vllm
def test_guided_json_parses_and_matches_the_schema(vllm_backend: VllmBackend) -> None:
    completion = vllm_backend.generate(
        scrubbed_prompt("Alert: encoded PowerShell on HOST_1."),
        schema=TRIAGE_SCHEMA,
        options=VllmOptions(max_tokens=48, seed=3),
    )

    parsed = completion.parsed
    assert set(parsed) == {"severity", "verdict", "escalate"}
    assert parsed["severity"] in {"low", "medium", "high"}
    assert parsed["verdict"] in {"benign", "malicious", "unknown"}
    assert isinstance(parsed["escalate"], bool)
    assert completion.prompt_tokens > 20
    assert 0 < completion.completion_tokens <= 48
    assert completion.time_to_first_token_s is not None


@pytest.mark.vllm
def test_concurrent_requests_share_the_cached_system_prompt(
    vllm_backend: VllmBackend,
) -> None:
    # Longer than a few KV blocks, so whole blocks of it can be shared.
    system = SYSTEM * 10
    prompts = [
        scrubbed_prompt(f"Alert {n} on HOST_{n}.", system=system) for n in range(3)
    ]

    results = vllm_backend.generate_many(
        prompts, options=VllmOptions(max_tokens=8, temperature=0.0)
    )

    assert all(not isinstance(r, Exception) for r in results), results
    again = vllm_backend.generate(
        scrubbed_prompt("Alert 9 on HOST_9.", system=system),
        options=VllmOptions(max_tokens=4),
    )
    assert again.cached_prompt_tokens > 0


@pytest.mark.vllm
def test_a_call_past_its_deadline_is_stopped(vllm_backend: VllmBackend) -> None:
    with pytest.raises(GenerationTimeout):
        vllm_backend.generate(
            scrubbed_prompt("Write a long report."),
            options=VllmOptions(max_tokens=400, timeout_seconds=0.01),
        )


@pytest.mark.vllm
def test_unload_stops_the_server_and_its_engine(vllm_backend: VllmBackend) -> None:
    server = vllm_backend.server
    assert server is not None
    process = server._process
    assert process is not None

    vllm_backend.unload()

    assert process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
