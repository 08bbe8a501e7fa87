from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import yaml

from appliance.config import Settings
from appliance.llm import store
from appliance.llm.errors import ModelError, ModelFileInvalid
from appliance.llm.manifests import Manifest, load_manifest

PAYLOAD = b"GGUF" + bytes(range(256)) * 40


def _manifest(name: str, data: bytes, **changes: object) -> Manifest:
    fields: dict[str, object] = {
        "name": name,
        "file": f"{name}.gguf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "quantization": "Q4_0",
        "context_length": 2048,
        "chat_template": "gguf",
        "licence": "Apache-2.0",
        "recommended_backend": "llama_cpp",
        "backends": ["llama_cpp"],
    }
    fields.update(changes)
    return Manifest.model_validate(fields)


def test_the_tiny_model_verifies_in_place() -> None:
    manifest = load_manifest("smollm2-135m-instruct")

    store.verify(manifest, manifest.resolve_path())


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    data = b"ZZZZ" + PAYLOAD[4:]
    path = tmp_path / "x.gguf"
    path.write_bytes(data)

    with pytest.raises(ModelFileInvalid, match="not a GGUF file"):
        store.verify(_manifest("x", data), path)


def test_import_copies_a_file_that_matches_a_given_manifest(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "incoming.gguf"
    source.write_bytes(PAYLOAD)
    manifest_file = tmp_path / "m.yaml"
    manifest_file.write_text(
        yaml.safe_dump(_manifest("operator-model", PAYLOAD).model_dump(mode="json"))
    )

    imported = store.import_model(source, settings, manifest_file=manifest_file)

    target = settings.resolved_data_dir / "models" / "operator-model.gguf"
    assert imported.name == "operator-model"
    assert target.read_bytes() == PAYLOAD
    assert load_manifest("operator-model", settings).sha256 == imported.sha256
    assert not list(target.parent.glob("*.partial"))


def test_import_refuses_a_file_no_manifest_knows(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "unknown.gguf"
    source.write_bytes(PAYLOAD + b"tampered")

    with pytest.raises(ModelFileInvalid, match="matches no model manifest"):
        store.import_model(source, settings)


def _fake_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunks: list[bytes]
) -> None:
    for n, chunk in enumerate(chunks, start=1):
        package = tmp_path / f"fake_model_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{n:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(tmp_path))
    for n in range(1, len(chunks) + 1):
        sys.modules.pop(f"fake_model_part{n}", None)


def test_assemble_concatenates_the_parts_in_order_and_checks_the_digest(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [PAYLOAD[:1000], PAYLOAD[1000:5000], PAYLOAD[5000:]]
    _fake_parts(tmp_path / "pkgs", monkeypatch, chunks)
    parts = {
        "package_prefix": "fake_model_part",
        "count": 3,
        "path": "data/part{n:02d}.bin",
    }
    manifest = _manifest("parted", PAYLOAD, source={"parts": parts})

    path = store.assemble(manifest, settings)

    assert path.read_bytes() == PAYLOAD
    assert store.assemble(manifest, settings) == path


def test_assemble_refuses_parts_that_do_not_give_the_file(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_parts(tmp_path / "pkgs", monkeypatch, [PAYLOAD[:1000], b"GGUF-evil"])
    parts = {
        "package_prefix": "fake_model_part",
        "count": 2,
        "path": "data/part{n:02d}.bin",
    }
    manifest = _manifest("parted", PAYLOAD, source={"parts": parts})

    with pytest.raises(ModelFileInvalid, match="the parts give"):
        store.assemble(manifest, settings)
    assert not (settings.resolved_data_dir / "models" / "parted.gguf").exists()


def test_assemble_names_a_missing_part_package(settings: Settings) -> None:
    parts = {"package_prefix": "no_such_model_part", "count": 2, "path": "p{n}"}
    manifest = _manifest("parted", PAYLOAD, source={"parts": parts})

    with pytest.raises(ModelError, match="no_such_model_part1 is not installed"):
        store.assemble(manifest, settings)
