from __future__ import annotations

import threading

import pytest
import yaml
from sqlalchemy import select

from appliance.config import Settings, load_settings
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.governance.audit import verify as verify_audit
from appliance.llm import registry
from appliance.llm.activation import ActivationFollower, request_activation
from appliance.llm.errors import ModelFileInvalid, UnknownModel
from appliance.llm.llama_cpp_backend import LlamaCppBackend, LlamaCppOptions
from appliance.llm.manifests import Manifest, load_manifest, store_dir
from appliance.llm.runtime import ModelRuntime
from appliance.llm.tables import ModelActivation, ModelCall
from tests.fakes.scrubbed_prompts import scrubbed_prompt
from tests.llm.conftest import TINY


@pytest.fixture
def model_settings(settings: Settings) -> Settings:
    return load_settings(
        {"data_dir": settings.data_dir, "llm_threads": 2, "llm_model": TINY},
        environ={},
    )


def _small(settings: Settings, manifest: Manifest) -> registry.Choice:
    return registry.Choice(LlamaCppBackend(settings, n_ctx=512))


def _add_manifest(settings: Settings, name: str, **changes: object) -> None:
    data = load_manifest(TINY).model_dump(mode="json")
    data.update(name=name, **changes)
    folder = store_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))


@pytest.fixture
def runtime(db: Database, model_settings: Settings) -> ModelRuntime:
    runtime = ModelRuntime(
        db, model_settings, choose=lambda m: _small(model_settings, m)
    )
    yield runtime
    runtime.close()


def test_every_call_is_recorded(db: Database, runtime: ModelRuntime) -> None:
    runtime.activate(TINY)
    prompt = scrubbed_prompt("Alert on HOST_1.", entities={"HOSTNAME": 2})

    completion = runtime.generate(
        prompt,
        schema={
            "type": "object",
            "properties": {"malicious": {"type": "boolean"}},
            "required": ["malicious"],
            "additionalProperties": False,
        },
        options=LlamaCppOptions(max_tokens=24),
        correlation_id="incident-7",
    )

    with db.read_session() as session:
        call = session.scalars(select(ModelCall)).one()
    assert call.outcome == "ok"
    assert call.backend == "llama_cpp"
    assert call.model_name == TINY
    assert call.model_sha256 == load_manifest(TINY).sha256
    assert call.prompt_sha256 == prompt.sha256
    assert call.entities == {"HOSTNAME": 2}
    assert call.options["max_tokens"] == 24
    assert call.schema_sha256 is not None
    assert isinstance(completion.parsed["malicious"], bool)
    assert call.prompt_tokens == completion.prompt_tokens
    assert call.completion_tokens == completion.completion_tokens
    assert call.output == completion.text
    assert call.time_to_first_token_s is not None
    assert call.correlation_id == "incident-7"


def test_a_failed_call_is_recorded_with_its_outcome(
    db: Database, runtime: ModelRuntime
) -> None:
    runtime.activate(TINY)

    with pytest.raises(Exception, match="context window"):
        runtime.generate(scrubbed_prompt("alert " * 700))

    with db.read_session() as session:
        call = session.scalars(select(ModelCall)).one()
    assert call.outcome == "context_too_long"
    assert call.output is None


def test_hot_swap_keeps_calls_in_flight_working(
    runtime: ModelRuntime, model_settings: Settings
) -> None:
    _add_manifest(model_settings, "smollm2-copy")
    runtime.activate(TINY)
    errors: list[BaseException] = []
    served_by: list[str] = []
    stop = threading.Event()

    def caller() -> None:
        while not stop.is_set():
            try:
                runtime.generate(
                    scrubbed_prompt("Alert on HOST_9."),
                    options=LlamaCppOptions(max_tokens=8),
                )
                backend = runtime.backend
                served_by.append(backend.manifest.name if backend else "")
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    runtime.activate("smollm2-copy")
    runtime.generate(
        scrubbed_prompt("After the swap."), options=LlamaCppOptions(max_tokens=4)
    )
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert served_by
    assert runtime.backend is not None
    assert runtime.backend.manifest is not None
    assert runtime.backend.manifest.name == "smollm2-copy"
    assert runtime.info()["status"] == "ready"


def test_a_failed_swap_leaves_the_old_model_serving(
    runtime: ModelRuntime, model_settings: Settings
) -> None:
    _add_manifest(model_settings, "smollm2-wrong-digest", sha256="0" * 64)
    runtime.activate(TINY)

    with pytest.raises(ModelFileInvalid, match="refusing to load"):
        runtime.activate("smollm2-wrong-digest")

    completion = runtime.generate(
        scrubbed_prompt("Still there?"), options=LlamaCppOptions(max_tokens=4)
    )
    assert completion.completion_tokens > 0
    info = runtime.info()
    assert info["model"] == TINY
    assert info["status"] == "ready"
    assert "smollm2-wrong-digest" in info["detail"]


def test_an_activation_request_is_carried_out_and_audited(
    db: Database, runtime: ModelRuntime, model_settings: Settings
) -> None:
    _add_manifest(model_settings, "smollm2-wrong-digest", sha256="0" * 64)
    follower = ActivationFollower(runtime, actor="worker:test")
    good = request_activation(db, model_settings, TINY, actor="admin:alice")
    follower.poll()
    follower.join(120)
    bad = request_activation(
        db, model_settings, "smollm2-wrong-digest", actor="admin:alice"
    )
    follower.poll()
    follower.join(120)

    with db.read_session() as session:
        rows = {r.id: r for r in session.scalars(select(ModelActivation))}
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        assert verify_audit(session) == []
    assert rows[good].state == "active"
    assert rows[bad].state == "failed"
    assert "sha256" in (rows[bad].detail or "")
    assert [(e.actor, e.outcome, e.target) for e in events] == [
        ("admin:alice", "attempt", TINY),
        ("worker:test", "success", TINY),
        ("admin:alice", "attempt", "smollm2-wrong-digest"),
        ("worker:test", "failure", "smollm2-wrong-digest"),
    ]
    assert runtime.info()["model"] == TINY


def test_an_unknown_model_cannot_be_requested(
    db: Database, model_settings: Settings
) -> None:
    with pytest.raises(UnknownModel, match="known models: .*smollm2-135m-instruct"):
        request_activation(db, model_settings, "gpt-9", actor="admin:alice")


def test_the_runtime_loads_the_wanted_model_on_first_use(
    runtime: ModelRuntime,
) -> None:
    runtime.wanted_model = lambda: TINY

    runtime.generate(scrubbed_prompt("Hello."), options=LlamaCppOptions(max_tokens=2))

    assert runtime.info()["model"] == TINY


def test_registry_falls_back_to_llama_cpp_with_the_reason(
    model_settings: Settings,
) -> None:
    choice = registry.choose(model_settings, load_manifest(TINY))

    assert choice.backend.name == "llama_cpp"
    assert "no GPU" in choice.passed_over["vllm"]


def test_an_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(Exception, match="known backends: llama_cpp, vllm"):
        registry.backend_class("onnx")


def test_a_worker_reports_its_model_state_for_readyz(
    db: Database, model_settings: Settings
) -> None:
    from appliance.api.readiness import check_model
    from appliance.jobs.worker import Worker
    from appliance.llm.activation import attach

    worker = Worker(db, model_settings)
    runtime = attach(worker)
    worker._run_duties()
    worker._beat("idle")

    check = check_model(db, model_settings)
    assert check.status == "degraded"
    assert check.data["status"] == "not_loaded"
    assert "first use" in check.detail
    assert runtime.backend is None
