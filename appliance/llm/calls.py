"""Record every model call in the ``model_call`` table."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from appliance.db.engine import Database
from appliance.llm.backend import Completion, Options
from appliance.llm.tables import ModelCall
from appliance.privacy.prompt import ScrubbedPrompt


def schema_sha256(schema: dict[str, Any] | None) -> str | None:
    """Return a stable hash of a JSON schema, or None without one."""
    if schema is None:
        return None
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))

    return hashlib.sha256(canonical.encode()).hexdigest()


def record_call(
    db: Database,
    *,
    started_at: dt.datetime,
    backend: str,
    model_name: str,
    model_sha256: str,
    options: Options,
    schema: dict[str, Any] | None,
    prompt: ScrubbedPrompt,
    outcome: str,
    completion: Completion | None = None,
    error: str | None = None,
    duration_s: float = 0.0,
    correlation_id: str | None = None,
) -> int:
    """Write one call's record and return its id."""
    row = ModelCall(
        started_at=started_at,
        backend=backend,
        model_name=model_name,
        model_sha256=model_sha256,
        options=options.model_dump(mode="json"),
        schema_sha256=schema_sha256(schema),
        prompt_sha256=prompt.sha256,
        vault_id=prompt.vault_id,
        entities=dict(prompt.entities),
        outcome=outcome,
        error=error,
        duration_s=duration_s,
        correlation_id=correlation_id,
    )
    if completion is not None:
        row.prompt_tokens = completion.prompt_tokens
        row.completion_tokens = completion.completion_tokens
        row.cached_prompt_tokens = completion.cached_prompt_tokens
        row.time_to_first_token_s = completion.time_to_first_token_s
        row.duration_s = completion.duration_s
        row.output = completion.text
    with db.session() as session:
        session.add(row)
        session.flush()
        return row.id
