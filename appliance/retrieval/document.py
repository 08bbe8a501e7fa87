"""The text an incident is embedded as: summary, techniques, entities, resolution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Entity kinds worth embedding; counts say more about shape than raw values do.
_ENTITY_KINDS = ("hosts", "users", "ips", "domains", "urls", "hashes")


def incident_text(
    summary: str,
    techniques: Sequence[str],
    entities: Mapping[str, Any],
    resolution: str | None = None,
    closure_notes: str | None = None,
) -> str:
    """Return one incident as the text the embedding model reads.

    The summary and notes must already be scrubbed. The resolution is included for
    past incidents and left out for the incident being asked about.
    """
    parts = [summary.strip()]
    if techniques:
        parts.append("Techniques: " + ", ".join(techniques))
    shape = []
    for kind in _ENTITY_KINDS:
        values = list(entities.get(kind) or [])
        if values:
            shown = ", ".join(str(v) for v in values[:5])
            more = f" and {len(values) - 5} more" if len(values) > 5 else ""
            shape.append(f"{len(values)} {kind} ({shown}{more})")
    if shape:
        parts.append("Entities: " + "; ".join(shape))
    if resolution:
        parts.append(f"Resolution: {resolution}")
    if closure_notes:
        parts.append(closure_notes.strip())

    return "\n".join(p for p in parts if p)
