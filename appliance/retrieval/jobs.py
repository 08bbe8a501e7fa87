"""Worker jobs that keep the similar-incident index in step with the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.errors import PermanentJobError
from appliance.jobs.registry import JobContext, job_handler
from appliance.retrieval.embedder import Embedder
from appliance.retrieval.service import SimilarIncidents

# One embedder per model path for the worker's life: loading the model is slow.
_embedders: dict[str | None, Embedder] = {}


def similar_incidents(db: Database, settings: Settings) -> SimilarIncidents:
    """Return the retrieval service with the configured embedding model."""
    path = settings.embedding_model_path
    if path not in _embedders:
        _embedders[path] = Embedder(Path(path) if path else None)

    return SimilarIncidents(db, settings, _embedders[path])


@job_handler("retrieval.incident_closed")
def incident_closed(ctx: JobContext) -> dict[str, Any]:
    """Store a closed incident and add it to the index.

    The payload holds ``incident_id``, the scrubbed ``summary``, ``techniques``,
    ``entities``, ``resolution``, ``closure_notes`` and optionally ``tenant`` and
    ``closed_at`` (ISO 8601). The row is committed before the vector is added, so a
    crash in between is healed by the next add or rebuild.
    """
    payload = dict(ctx.payload)
    if not payload.get("incident_id") or not payload.get("summary"):
        raise PermanentJobError("payload needs incident_id and a scrubbed summary")
    if isinstance(payload.get("closed_at"), str):
        payload["closed_at"] = dt.datetime.fromisoformat(payload["closed_at"])
    service = similar_incidents(ctx.db, ctx.settings)
    with ctx.db.session() as session:
        row = service.record_closed(session, payload)
        session.expunge(row)
    generation = service.add(row)

    return {"past_incident_id": row.id, "generation": generation}


@job_handler("retrieval.rebuild")
def rebuild(ctx: JobContext) -> dict[str, Any]:
    """Re-embed every past incident into a fresh index generation."""
    return similar_incidents(ctx.db, ctx.settings).rebuild()
