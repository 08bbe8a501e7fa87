"""Several vLLM replicas behind one backend: least busy first, dead ones skipped."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.llm.errors import ModelError
from appliance.llm.manifests import Manifest, load_manifest
from appliance.llm.vllm_backend import VllmBackend, VllmOptions
from appliance.llm.vllm_replicas import parse_urls
from tests.fakes.scrubbed_prompts import scrubbed_prompt
from tests.fakes.vllm_replica import FakeVllmReplica

OPTIONS = VllmOptions(max_tokens=4)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _hf_manifest() -> Manifest:
    return load_manifest("smollm2-135m-instruct").model_copy(
        update={"name": "served", "format": "hf", "backends": ["vllm"]}
    )


@pytest.fixture
def replicas() -> Iterator[list[FakeVllmReplica]]:
    started = [FakeVllmReplica(f"r{n}", delay_s=0.2).start() for n in range(3)]
    yield started
    for replica in started:
        replica.stop()


def _backend(urls: list[str], tmp_path: Path) -> VllmBackend:
    settings = load_settings(
        {"data_dir": str(tmp_path), "vllm_url": ", ".join(urls)}, environ={}
    )
    backend = VllmBackend(settings)
    backend.load(_hf_manifest())
    return backend


def test_urls_are_split_on_commas_and_spaces_once_each() -> None:
    assert parse_urls(" http://a:8000/, http://b:8000 http://a:8000 ,") == [
        "http://a:8000",
        "http://b:8000",
    ]


def test_concurrent_calls_are_spread_over_every_replica(
    replicas: list[FakeVllmReplica], tmp_path: Path
) -> None:
    backend = _backend([r.url for r in replicas], tmp_path)

    results = backend.generate_many(
        [scrubbed_prompt(f"alert {n}") for n in range(9)], options=OPTIONS
    )

    assert sorted(r.text for r in results if not isinstance(r, Exception)) == sorted(
        ["r0", "r1", "r2"] * 3
    )
    assert [r.calls for r in replicas] == [3, 3, 3]
    assert all(r.most_in_flight <= 3 for r in replicas)
    backend.unload()


def test_a_replica_that_refuses_connections_is_skipped(
    replicas: list[FakeVllmReplica], tmp_path: Path
) -> None:
    backend = _backend([_closed_port_url(), replicas[0].url], tmp_path)

    texts = [backend.generate(scrubbed_prompt("x"), options=OPTIONS).text]
    texts += [backend.generate(scrubbed_prompt("y"), options=OPTIONS).text]

    assert texts == ["r0", "r0"]
    assert replicas[0].calls == 2
    backend.unload()


def test_health_names_the_unhealthy_replica_and_stays_available(
    replicas: list[FakeVllmReplica], tmp_path: Path
) -> None:
    replicas[1].healthy = False
    backend = _backend([r.url for r in replicas], tmp_path)

    found = backend.health()

    assert found.available
    assert replicas[1].url in found.reason and "503" in found.reason
    assert replicas[0].url not in found.reason
    backend.unload()


def test_every_replica_down_is_an_error_that_says_so(tmp_path: Path) -> None:
    backend = _backend([_closed_port_url(), _closed_port_url()], tmp_path)

    assert not backend.health().available
    with pytest.raises(ModelError, match="connection failed"):
        backend.generate(scrubbed_prompt("x"), options=OPTIONS)
    backend.unload()
