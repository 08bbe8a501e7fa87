"""Fixtures of the model runtime tests: the tiny real model, loaded once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.config import Settings, load_settings
from appliance.llm.llama_cpp_backend import LlamaCppBackend
from appliance.llm.manifests import Manifest, load_manifest

TINY = "smollm2-135m-instruct"

# A short schema that bounds the output, as the tasks' schemas do.
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": 60},
        "severity": {"type": "string", "enum": ["low", "medium", "high"]},
        "hosts": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["summary", "severity", "hosts"],
    "additionalProperties": False,
}


@pytest.fixture(scope="session")
def tiny_manifest() -> Manifest:
    """Return the manifest of the tiny test model."""
    return load_manifest(TINY)


@pytest.fixture(scope="session")
def cpu_settings() -> Settings:
    """Return settings for model tests (two threads, as on this machine)."""
    return load_settings({"llm_threads": 2, "log_level": "WARNING"}, environ={})


@pytest.fixture(scope="module")
def tiny_backend(
    cpu_settings: Settings, tiny_manifest: Manifest
) -> Iterator[LlamaCppBackend]:
    """Return the llama.cpp backend with the tiny model loaded, once per module."""
    backend = LlamaCppBackend(cpu_settings, n_ctx=1024)
    backend.load(tiny_manifest)
    yield backend
    backend.unload()
