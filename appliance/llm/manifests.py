"""Model manifests: one YAML file per model in ``models/`` (and imported ones).

A manifest names the model file and pins it: its sha256 and size, quantization,
context length, where its chat template comes from, its licence, the backends that can
serve it and the settings they should use. Nothing is loaded that does not match.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.config import REPO_ROOT, Settings, load_settings
from appliance.llm.errors import ModelError, UnknownModel

SHIPPED_DIR = REPO_ROOT / "models"


class PartsSource(BaseModel):
    """A model file published as raw parts inside numbered packages."""

    model_config = ConfigDict(extra="forbid")

    package_prefix: str = Field(description="Import name before the part number.")
    count: int = Field(ge=1)
    path: str = Field(description="Path of part n inside its package, with {n}.")


class Source(BaseModel):
    """Where the model file comes from when it is not imported by an operator."""

    model_config = ConfigDict(extra="forbid")

    package: str | None = Field(
        default=None, description="Used in place from this package."
    )
    parts: PartsSource | None = None


class Manifest(BaseModel):
    """What the appliance knows and checks about one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    file: str = Field(description="File (GGUF) or directory (Hugging Face) name.")
    format: Literal["gguf", "hf"] = "gguf"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, ge=1, description="Bytes; GGUF files only.")
    quantization: str
    context_length: int = Field(ge=128)
    chat_template: str = Field(description="Where the chat template comes from.")
    licence: str
    recommended_backend: Literal["llama_cpp", "vllm"]
    backends: list[Literal["llama_cpp", "vllm"]]
    settings: dict[str, Any] = Field(default_factory=dict)
    default: bool = False
    source: Source = Source()

    def resolve_path(self, settings: Settings | None = None) -> Path:
        """Return where the model file lies: its package, or ``data_dir/models``."""
        if self.source.package:
            spec = importlib.util.find_spec(self.source.package)
            if spec is None or not spec.submodule_search_locations:
                raise ModelError(
                    f"model {self.name}: package {self.source.package} is not "
                    "installed (scripts/install installs it)"
                )
            return Path(list(spec.submodule_search_locations)[0]) / self.file
        settings = settings or load_settings()

        return store_dir(settings) / self.file


def store_dir(settings: Settings) -> Path:
    """Return the folder imported models and their manifests live in."""
    return settings.resolved_data_dir / "models"


def _read(path: Path) -> Manifest:
    """Parse one manifest file; a malformed one is an error that names it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Manifest.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ModelError(f"manifest {path.name} is invalid: {exc}") from exc


def list_manifests(settings: Settings | None = None) -> list[Manifest]:
    """Return every known manifest: shipped ones, then imported ones, by name."""
    dirs = [SHIPPED_DIR]
    if settings is not None:
        dirs.append(store_dir(settings))
    found: dict[str, Manifest] = {}
    for folder in dirs:
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            manifest = _read(path)
            found.setdefault(manifest.name, manifest)

    return sorted(found.values(), key=lambda m: m.name)


def load_manifest(name: str, settings: Settings | None = None) -> Manifest:
    """Return the manifest called ``name``.

    Raises:
        UnknownModel: no manifest has that name; the message lists the known ones.
    """
    manifests = {m.name: m for m in list_manifests(settings)}
    if name not in manifests:
        known = ", ".join(sorted(manifests)) or "none"
        raise UnknownModel(f"unknown model {name!r}; known models: {known}")

    return manifests[name]


def default_manifest(settings: Settings | None = None) -> Manifest:
    """Return the configured model (``llm_model``), else the one marked default."""
    if settings is not None and settings.llm_model:
        return load_manifest(settings.llm_model, settings)
    for manifest in list_manifests(settings):
        if manifest.default:
            return manifest
    raise UnknownModel("no model manifest is marked default")
