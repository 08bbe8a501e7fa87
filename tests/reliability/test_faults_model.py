"""The model backend crashing mid-generation and hanging past its deadline.

The real runtime runs the tiny model on llama.cpp; the fault is put into the
llama.cpp call itself. Either way every incident task gives its labelled
deterministic result, and the runtime records the failed calls. A swap while calls
run is proven by tests/llm/test_runtime.py (hot swap keeps calls in flight working;
a failed swap leaves the old model serving).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from appliance.config import Settings, load_settings
from appliance.db.engine import Database
from appliance.llm import registry
from appliance.llm.llama_cpp_backend import LlamaCppBackend
from appliance.llm.runtime import ModelRuntime
from appliance.llm.tables import ModelCall
from appliance.privacy.scrubber import Scrubber
from appliance.privacy.service import scrubber_for
from appliance.tasks.pipeline import IncidentAnalysis, analyze, narrator_for
from tests.llm.conftest import TINY
from tests.tasks.conftest import sample

TASKS = ["triage", "root_cause", "response"]


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return scrubber_for(load_settings({"data_dir": "var"}))


def _model_settings(settings: Settings, timeout_seconds: float) -> Settings:
    return load_settings(
        {
            "data_dir": settings.data_dir,
            "llm_threads": 2,
            "llm_timeout_seconds": timeout_seconds,
            "task_model_timeout_seconds": timeout_seconds,
            "task_max_output_tokens": 48,
        },
        environ={},
    )


@pytest.fixture
def model_settings(settings: Settings) -> Settings:
    """Settings whose deadline every call runs past (the prompt alone takes longer)."""
    return _model_settings(settings, 1.5)


@pytest.fixture
def patient_settings(settings: Settings) -> Settings:
    """Settings whose deadline leaves time for the prompt and the first tokens."""
    return _model_settings(settings, 120.0)


def _started(db: Database, settings: Settings) -> ModelRuntime:
    runtime = ModelRuntime(
        db,
        settings,
        choose=lambda m: registry.Choice(LlamaCppBackend(settings, n_ctx=4096)),
    )
    runtime.activate(TINY)
    return runtime


@pytest.fixture
def runtime(db: Database, model_settings: Settings) -> Iterator[ModelRuntime]:
    runtime = _started(db, model_settings)
    yield runtime
    runtime.close()


@pytest.fixture
def patient_runtime(db: Database, patient_settings: Settings) -> Iterator[ModelRuntime]:
    runtime = _started(db, patient_settings)
    yield runtime
    runtime.close()


def _analyze(
    runtime: ModelRuntime, settings: Settings, db: Database, scrubber: Scrubber
) -> IncidentAnalysis:
    reply = sample("102")
    vault = scrubber.new_vault("102")
    narrator = narrator_for(settings, scrubber, vault, runtime, db=db)
    return analyze(reply, narrator, tasks=TASKS)


def _llama(runtime: ModelRuntime) -> Any:
    backend = runtime.backend
    assert isinstance(backend, LlamaCppBackend)
    return backend._loaded()


def test_a_crash_mid_generation_falls_back_to_the_deterministic_result(
    patient_runtime: ModelRuntime,
    patient_settings: Settings,
    db: Database,
    scrubber: Scrubber,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = patient_runtime
    llm = _llama(runtime)
    original = llm.create_completion

    def crash_after_a_few_tokens(**kwargs: Any) -> Any:
        seen: list[int] = []

        def die(_ids: Any, _logits: Any) -> bool:
            seen.append(1)
            if len(seen) > 3:
                raise RuntimeError("llama_decode returned -3")
            return False

        kwargs["stopping_criteria"].append(die)
        return original(**kwargs)

    monkeypatch.setattr(llm, "create_completion", crash_after_a_few_tokens)

    analysis = _analyze(runtime, patient_settings, db, scrubber)

    for result in analysis.results.values():
        body = result.as_dict()
        assert body["source"] == "deterministic"
        assert any("RuntimeError" in note for note in body["notes"]), body["notes"]
    with db.read_session() as session:
        outcomes = set(session.scalars(select(ModelCall.outcome)))
    assert outcomes == {"generation_failed"}
    assert runtime.info()["status"] == "ready"  # the next call may succeed again


def test_a_hung_call_times_out_and_the_tasks_fall_back(
    runtime: ModelRuntime,
    model_settings: Settings,
    db: Database,
    scrubber: Scrubber,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = _llama(runtime)
    release = threading.Event()

    def hang(**_kwargs: Any) -> Any:
        release.wait(60)  # stuck inside llama.cpp: no token, no stopping callback
        raise RuntimeError("released")

    monkeypatch.setattr(llm, "create_completion", hang)
    started = time.monotonic()
    try:
        analysis = _analyze(runtime, model_settings, db, scrubber)
    finally:
        release.set()
    elapsed = time.monotonic() - started

    for result in analysis.results.values():
        body = result.as_dict()
        assert body["source"] == "deterministic"
        assert any("GenerationTimeout" in note for note in body["notes"])
    # Each task waits at most its deadline (and a little grace), never the hang.
    assert elapsed < len(TASKS) * 2 * (1.5 + 2.0) + 5
    with db.read_session() as session:
        outcomes = set(session.scalars(select(ModelCall.outcome)))
    assert outcomes == {"generation_timeout"}
