from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from appliance.config import Settings
from appliance.llm.errors import (
    ContextTooLong,
    GenerationCancelled,
    GenerationTimeout,
    ModelFileInvalid,
)
from appliance.llm.llama_cpp_backend import LlamaCppBackend, LlamaCppOptions
from appliance.llm.manifests import Manifest
from tests.fakes.scrubbed_prompts import scrubbed_prompt
from tests.llm.conftest import VERDICT_SCHEMA


def test_options_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        LlamaCppOptions(max_tokens=8, temprature=0.1)  # type: ignore[call-arg]


def test_is_available_and_describes_the_loaded_model(
    tiny_backend: LlamaCppBackend, tiny_manifest: Manifest
) -> None:
    assert tiny_backend.is_available().available
    info = tiny_backend.describe()
    assert info["model"] == tiny_manifest.name
    assert info["sha256"] == tiny_manifest.sha256
    assert info["threads"] == 2
    assert tiny_backend.health().available


def test_refuses_a_raw_string(tiny_backend: LlamaCppBackend) -> None:
    with pytest.raises(TypeError):
        tiny_backend.generate("summarize host WS-1")  # type: ignore[arg-type]


def test_constrained_json_parses_and_matches_the_schema(
    tiny_backend: LlamaCppBackend,
) -> None:
    prompt = scrubbed_prompt("Alert: encoded PowerShell on HOST_1 by USER_1.")

    completion = tiny_backend.generate(
        prompt, schema=VERDICT_SCHEMA, options=LlamaCppOptions(max_tokens=96, seed=7)
    )

    parsed: dict[str, Any] = completion.parsed
    assert set(parsed) == {"summary", "severity", "hosts"}
    assert isinstance(parsed["summary"], str) and len(parsed["summary"]) <= 60
    assert parsed["severity"] in {"low", "medium", "high"}
    assert isinstance(parsed["hosts"], list) and len(parsed["hosts"]) <= 2
    assert all(isinstance(h, str) for h in parsed["hosts"])
    assert completion.prompt_tokens > 20
    assert 0 < completion.completion_tokens <= 96
    assert completion.time_to_first_token_s is not None
    assert completion.duration_s >= completion.time_to_first_token_s


def test_second_call_reuses_the_system_prompt_prefix(
    tiny_backend: LlamaCppBackend,
) -> None:
    llm = tiny_backend._llm
    assert llm is not None
    evaluated: list[int] = []
    original = llm.eval

    def counting_eval(tokens: Any) -> None:
        evaluated.append(len(tokens))
        original(tokens)

    options = LlamaCppOptions(max_tokens=4, seed=1)
    tiny_backend.generate(scrubbed_prompt("First alert on HOST_1."), options=options)
    llm.eval = counting_eval  # type: ignore[method-assign]
    try:
        second = tiny_backend.generate(
            scrubbed_prompt("Another alert, on HOST_2."), options=options
        )
    finally:
        llm.eval = original  # type: ignore[method-assign]

    system_tokens = len(
        tiny_backend.tokenize_prompt([{"role": "system", "content": "x"}])
    )
    assert second.cached_prompt_tokens > system_tokens
    # Only the prompt's new suffix was evaluated, then one token per output token.
    assert evaluated[0] == second.prompt_tokens - second.cached_prompt_tokens


def test_without_prefix_reuse_the_whole_prompt_is_evaluated(
    cpu_settings: Settings, tiny_manifest: Manifest
) -> None:
    backend = LlamaCppBackend(cpu_settings, n_ctx=512, prefix_reuse=False)
    backend.load(tiny_manifest)
    options = LlamaCppOptions(max_tokens=2)
    try:
        backend.generate(scrubbed_prompt("First alert."), options=options)
        second = backend.generate(scrubbed_prompt("Second alert."), options=options)
    finally:
        backend.unload()

    assert second.cached_prompt_tokens == 0


def test_prompt_longer_than_the_context_is_refused_before_the_call(
    tiny_backend: LlamaCppBackend,
) -> None:
    prompt = scrubbed_prompt("alert " * 1200)

    with pytest.raises(ContextTooLong, match="context window holds 1024"):
        tiny_backend.generate(prompt, options=LlamaCppOptions(max_tokens=8))


def test_a_call_past_its_deadline_is_stopped(tiny_backend: LlamaCppBackend) -> None:
    options = LlamaCppOptions(max_tokens=400, timeout_seconds=0.05, temperature=1.0)

    with pytest.raises(GenerationTimeout, match="deadline"):
        tiny_backend.generate(scrubbed_prompt("Write a long report."), options=options)


def test_cancel_stops_a_running_call(tiny_backend: LlamaCppBackend) -> None:
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            tiny_backend.generate(
                scrubbed_prompt("Write a very long report about HOST_1."),
                options=LlamaCppOptions(max_tokens=600, temperature=1.0),
            )
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    while not tiny_backend._cancel_events and thread.is_alive():
        threading.Event().wait(0.01)
    tiny_backend.cancel()
    thread.join(timeout=60)

    assert isinstance(outcome.get("error"), GenerationCancelled)


def _copy_manifest(manifest: Manifest, path: Path) -> Manifest:
    return manifest.model_copy(
        update={
            "file": str(path),
            "source": manifest.source.model_copy(update={"package": None}),
        }
    )


def test_a_truncated_gguf_is_refused(
    cpu_settings: Settings, tiny_manifest: Manifest, tmp_path: Path
) -> None:
    source = tiny_manifest.resolve_path()
    broken = tmp_path / "truncated.gguf"
    with source.open("rb") as src, broken.open("wb") as out:
        out.write(src.read(1_000_000))

    with pytest.raises(ModelFileInvalid, match="truncated"):
        LlamaCppBackend(cpu_settings).load(_copy_manifest(tiny_manifest, broken))


def test_a_corrupt_gguf_of_the_right_size_is_refused(
    cpu_settings: Settings, tiny_manifest: Manifest, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    shutil.copyfile(tiny_manifest.resolve_path(), corrupt)
    with corrupt.open("r+b") as stream:
        stream.seek(5_000_000)
        byte = stream.read(1)
        stream.seek(5_000_000)
        stream.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(ModelFileInvalid, match="refusing to load"):
        LlamaCppBackend(cpu_settings).load(_copy_manifest(tiny_manifest, corrupt))
