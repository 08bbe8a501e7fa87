"""The result of reading a feed file: the good records and the rows that were not."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from appliance.enrich.source import SourceUnavailable

T = TypeVar("T")

#: How many skipped rows a report keeps with their reason; the count is always exact.
MAX_REPORTED = 50


@dataclass
class SkippedRow:
    """One row that was left out, where it was and why."""

    where: str
    reason: str


@dataclass
class ParsedFeed(Generic[T]):
    """Records read from one file, and an account of the rows that were skipped."""

    path: str
    records: list[T] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    skipped_count: int = 0

    def skip(self, where: str, reason: str) -> None:
        """Count a malformed row and keep its reason (the first few only)."""
        self.skipped_count += 1
        if len(self.skipped) < MAX_REPORTED:
            self.skipped.append(SkippedRow(where, reason))

    def report(self) -> dict[str, Any]:
        """Return a JSON-able summary: accepted, skipped and why."""
        return {
            "path": self.path,
            "accepted": len(self.records),
            "skipped": self.skipped_count,
            "skipped_rows": [
                {"where": s.where, "reason": s.reason} for s in self.skipped
            ],
        }


def read_text(path: Path) -> str:
    """Return the text of a feed file.

    Raises:
        SourceUnavailable: the file is missing or unreadable.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceUnavailable(
            f"cannot read {path.name}: {exc.__class__.__name__}"
        ) from exc


def read_json(path: Path) -> Any:
    """Return the parsed JSON of a feed file.

    Raises:
        SourceUnavailable: the file is missing, unreadable or not JSON.
    """
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise SourceUnavailable(f"{path.name} is not JSON: line {exc.lineno}") from exc


def csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Return ``(line number, row)`` pairs with lower-cased, trimmed headers.

    Raises:
        SourceUnavailable: the file is missing, unreadable or has no header.
    """
    reader = csv.DictReader(io.StringIO(read_text(path)))
    if not reader.fieldnames:
        raise SourceUnavailable(f"{path.name} has no header row")
    rows = []
    for row in reader:
        clean = {
            (key or "").strip().lower(): (value or "").strip()
            if isinstance(value, str)
            else ""
            for key, value in row.items()
        }
        if any(clean.values()):
            rows.append((reader.line_num, clean))

    return rows


def first_of(row: dict[str, str], names: tuple[str, ...]) -> str:
    """Return the first non-blank value among the columns ``names``."""
    for name in names:
        value = row.get(name, "")
        if value:
            return value
    return ""
