"""The model store: verify model files, import them, assemble the default model.

Packages on the index are untrusted transport: a model file is checked against its
manifest's sha256 and size before every load and after every copy, and a mismatch is
refused with a message that says what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import yaml

from appliance.config import Settings
from appliance.llm.errors import ModelError, ModelFileInvalid
from appliance.llm.manifests import Manifest, list_manifests, store_dir

logger = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024
GGUF_MAGIC = b"GGUF"


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)

    return digest.hexdigest()


def directory_sha256(path: Path) -> str:
    """Return one digest for a model directory: its files' paths and sha256s."""
    lines = [
        f"{item.relative_to(path).as_posix()}\0{file_sha256(item)}\n"
        for item in sorted(path.rglob("*"))
        if item.is_file()
    ]

    return hashlib.sha256("".join(lines).encode()).hexdigest()


def verify(manifest: Manifest, path: Path) -> None:
    """Check a model file (or directory) against its manifest.

    Raises:
        ModelFileInvalid: missing, truncated, not a GGUF file, or another digest.
    """
    if not path.exists():
        raise ModelFileInvalid(f"model {manifest.name}: {path} does not exist")
    if manifest.format == "hf":
        found = directory_sha256(path)
    else:
        size = path.stat().st_size
        if manifest.size is not None and size != manifest.size:
            raise ModelFileInvalid(
                f"model {manifest.name}: {path.name} has {size} bytes, the manifest "
                f"says {manifest.size} (truncated or another file)"
            )
        with path.open("rb") as stream:
            if stream.read(4) != GGUF_MAGIC:
                raise ModelFileInvalid(
                    f"model {manifest.name}: {path.name} is not a GGUF file"
                )
        found = file_sha256(path)
    if found != manifest.sha256:
        raise ModelFileInvalid(
            f"model {manifest.name}: sha256 of {path.name} is {found}, the manifest "
            f"says {manifest.sha256}; refusing to load it"
        )


def import_model(
    path: Path, settings: Settings, *, manifest_file: Path | None = None
) -> Manifest:
    """Copy a model file (or register a model directory) into the store.

    The file must match a known manifest, found by its sha256, or the manifest given
    in ``manifest_file`` (which is then kept in the store beside the model).

    Raises:
        ModelFileInvalid: no manifest matches, or the copy does not verify.
    """
    extra: Manifest | None = None
    if manifest_file is not None:
        extra = Manifest.model_validate(yaml.safe_load(manifest_file.read_text()))
    digest = directory_sha256(path) if path.is_dir() else file_sha256(path)
    candidates = [extra] if extra else list_manifests(settings)
    manifest = next((m for m in candidates if m.sha256 == digest), None)
    if manifest is None:
        raise ModelFileInvalid(
            f"{path.name}: sha256 {digest} matches no model manifest; "
            "give one with --manifest"
        )
    target_dir = store_dir(settings)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / manifest.file
    if manifest.source.package:
        raise ModelError(f"model {manifest.name} is used in place from its package")
    if path.resolve() != target.resolve():
        partial = target.with_name(target.name + ".partial")
        if path.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(path, partial)
        else:
            shutil.copyfile(path, partial)
        verify(manifest, partial)
        os.replace(partial, target)
    if extra is not None:
        manifest_path = target_dir / f"{manifest.name}.yaml"
        manifest_path.write_text(yaml.safe_dump(manifest.model_dump(mode="json")))
    logger.info("model imported", extra={"model": manifest.name})

    return manifest


def _part_paths(manifest: Manifest) -> Iterator[Path]:
    """Yield the installed part files of a manifest published in parts, in order."""
    parts = manifest.source.parts
    if parts is None:
        raise ModelError(f"model {manifest.name} is not published in parts")
    for n in range(1, parts.count + 1):
        package = f"{parts.package_prefix}{n}"
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"model {manifest.name}: package {package} is not installed "
                "(run scripts/install --models)"
            )
        base = Path(list(spec.submodule_search_locations)[0])
        yield base / parts.path.format(n=n)


def assemble(manifest: Manifest, settings: Settings) -> Path:
    """Concatenate a manifest's parts into the store, hashing as it streams.

    The result is written beside its final name and renamed only once its size and
    sha256 match, so a crash or a bad part never leaves a file that looks ready.
    Returns the path; an existing file that verifies is kept as it is.

    Raises:
        ModelFileInvalid: the parts do not give the manifest's file.
    """
    target = manifest.resolve_path(settings)
    if target.exists():
        try:
            verify(manifest, target)
            return target
        except ModelFileInvalid:
            logger.warning("stored model does not verify; assembling it again")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    with partial.open("wb") as out:
        for part in _part_paths(manifest):
            with part.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    if size != manifest.size or digest.hexdigest() != manifest.sha256:
        partial.unlink()
        raise ModelFileInvalid(
            f"model {manifest.name}: the parts give {size} bytes with sha256 "
            f"{digest.hexdigest()}, the manifest says {manifest.size} bytes with "
            f"{manifest.sha256}"
        )
    os.replace(partial, target)
    logger.info("model assembled", extra={"model": manifest.name})

    return target
