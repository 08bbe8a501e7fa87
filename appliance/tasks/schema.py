"""JSON schema pieces whose enums come from the evidence the model saw."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def text(most: int) -> dict[str, Any]:
    """Return the schema of a short string."""
    return {"type": "string", "maxLength": most}


def choice(values: Iterable[str]) -> dict[str, Any]:
    """Return the schema of one value out of ``values`` (never an empty enum)."""
    found = list(dict.fromkeys(str(v) for v in values))

    return {"type": "string", "enum": found or ["none"]}


def items(item: dict[str, Any], most: int) -> dict[str, Any]:
    """Return the schema of a list of at most ``most`` items."""
    return {"type": "array", "items": item, "maxItems": most}


def record(**properties: dict[str, Any]) -> dict[str, Any]:
    """Return the schema of an object with exactly ``properties``, all required."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def alert_ids(seen: dict[str, Any]) -> list[str]:
    """Return the alert ids of the evidence as the model saw it."""
    return [
        i
        for a in seen.get("alerts", [])
        for i in a.get("alert_ids", [a.get("alert_id")])
        if i
    ]


def technique_ids(seen: dict[str, Any]) -> list[str]:
    """Return the technique ids of the evidence as the model saw it."""
    return [t["technique_id"] for t in seen.get("techniques", [])]


def fact_ids(seen: dict[str, Any]) -> list[str]:
    """Return every fact id of the evidence as the model saw it."""
    return [
        item["fact"]
        for part in ("alerts", "techniques", "context", "similar_incidents")
        for item in seen.get(part, [])
    ]
