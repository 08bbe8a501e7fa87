"""The backup archive: a tar.gz with a manifest of sha256 sums for every member.

An archive holds ``manifest.json``, the database (``database.sqlite`` from SQLite's
online backup API, or ``database.dump`` from ``pg_dump --format=custom``) and the
data directory's own files under ``data/``: the secret key, the vault key, the FAISS
index, imported enrichment and ATT&CK data and, on request, the model files.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
POSTGRES_MEMBER = "database.dump"
DATA_PREFIX = "data"


class BackupError(ApplianceError):
    """A backup could not be written, or an archive is not a sound backup."""

    code = "backup_error"


def file_sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)

    return digest.hexdigest()


@dataclass
class Manifest:
    """What an archive holds and the sha256 of every member."""

    created_at: str
    database_backend: str
    revisions: list[str]
    audit_rows: int
    files: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Parse a manifest; an unknown format is an error."""
        if data.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {data.get('format')!r}")

        return cls(**data)


def write_archive(staging: Path, manifest: Manifest, target: Path) -> None:
    """Pack ``staging`` (which holds every member) and the manifest into ``target``."""
    for member in sorted(p for p in staging.rglob("*") if p.is_file()):
        manifest.files[member.relative_to(staging).as_posix()] = file_sha256(member)
    (staging / MANIFEST).write_text(
        json.dumps(manifest.as_dict(), indent=2, sort_keys=True), encoding="utf-8"
    )
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(staging / MANIFEST, arcname=MANIFEST)
        for name in manifest.files:
            tar.add(staging / name, arcname=name)
    partial.chmod(0o600)
    partial.replace(target)


def unpack_archive(archive: Path, into: Path) -> Manifest:
    """Unpack ``archive`` into ``into`` and check every member against the manifest.

    Raises:
        BackupError: the manifest is missing, a member is missing, unlisted or does
            not match its sha256.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read backup {archive}: {exc}") from exc
    manifest_path = into / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{archive} has no {MANIFEST}: not a backup")
    manifest = Manifest.from_dict(json.loads(manifest_path.read_text("utf-8")))
    present = {
        p.relative_to(into).as_posix()
        for p in into.rglob("*")
        if p.is_file() and p != manifest_path
    }
    unlisted = present - set(manifest.files)
    if unlisted:
        raise BackupError(f"backup holds files its manifest lacks: {sorted(unlisted)}")
    for name, expected in manifest.files.items():
        path = into / name
        if not path.is_file():
            raise BackupError(f"backup lacks {name}")
        if file_sha256(path) != expected:
            raise BackupError(f"{name} does not match its sha256 in the manifest")

    return manifest
