"""Find similar past incidents; keep the index in step with closed incidents."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.retrieval.document import incident_text
from appliance.retrieval.embedder import Embedder
from appliance.retrieval.index import IndexStore, VectorIndex
from appliance.retrieval.tables import PastIncident

logger = logging.getLogger(__name__)


@dataclass
class SimilarIncident:
    """A past incident close to the one asked about."""

    incident_id: str
    tenant: str
    similarity: float
    closed_at: dt.datetime
    resolution: str | None
    closure_notes: str | None
    summary: str
    techniques: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        return {**self.__dict__, "closed_at": self.closed_at.isoformat()}


def index_folder(settings: Settings) -> Path:
    """Return where the index lives: next to the database, in the data directory."""
    return settings.resolved_data_dir / "retrieval"


def past_incident_text(row: PastIncident) -> str:
    """Return the text a stored past incident is embedded as."""
    return incident_text(
        row.summary, row.techniques, row.entities, row.resolution, row.closure_notes
    )


class SimilarIncidents:
    """Builds, updates and searches the index of past incidents."""

    def __init__(self, db: Database, settings: Settings, embedder: Embedder) -> None:
        self.db = db
        self.settings = settings
        self.embedder = embedder
        self.store = IndexStore(index_folder(settings))
        self._loaded: VectorIndex | None = None

    def _build(self, rows: list[PastIncident]) -> VectorIndex:
        vectors = self.embedder.embed([past_incident_text(r) for r in rows])
        return VectorIndex.build(
            vectors,
            np.array([r.id for r in rows], dtype=np.int64),
            [r.tenant for r in rows],
            np.array([r.closed_at.timestamp() for r in rows], dtype=np.float64),
            ann_threshold=self.settings.retrieval_ann_threshold,
            ef_search=self.settings.retrieval_hnsw_ef_search,
        )

    def rebuild(self) -> dict[str, Any]:
        """Embed every stored past incident into a new generation and swap it in."""
        with self.db.read_session() as session:
            rows = list(session.scalars(select(PastIncident).order_by(PastIncident.id)))
            session.expunge_all()
        vectors = self._build(rows)
        with self.store.writing():
            generation = self.store.save(vectors)
        self._loaded = vectors
        logger.info(
            "similar-incident index rebuilt",
            extra={"generation": generation, "vectors": len(vectors)},
        )

        return {"generation": generation, "vectors": len(vectors), "kind": vectors.kind}

    def record_closed(self, session: Session, incident: dict[str, Any]) -> PastIncident:
        """Store (or update) a closed incident's row; the caller commits."""
        tenant = incident.get("tenant") or self.settings.tenant
        row = session.scalar(
            select(PastIncident).where(
                PastIncident.tenant == tenant,
                PastIncident.incident_id == str(incident["incident_id"]),
            )
        )
        if row is None:
            row = PastIncident(tenant=tenant, incident_id=str(incident["incident_id"]))
            session.add(row)
        row.closed_at = incident.get("closed_at") or utcnow()
        row.summary = incident["summary"]
        row.techniques = list(incident.get("techniques") or [])
        row.entities = dict(incident.get("entities") or {})
        row.resolution = incident.get("resolution")
        row.closure_notes = incident.get("closure_notes")
        session.flush()

        return row

    def add(self, row: PastIncident) -> int:
        """Add one stored past incident to the index as a new generation."""
        vector = self.embedder.embed([past_incident_text(row)])[0]
        with self.store.writing():
            current = self.store.load()
            if current is None or len(current) == 0:
                current = self._build([])
            grows_past = len(current) + 1 > self.settings.retrieval_ann_threshold
            if grows_past and current.kind == "exact":
                # Crossing the threshold: the next rebuild makes it approximate.
                logger.info("similar-incident index should be rebuilt as approximate")
            current.add(vector, row.id, row.tenant, row.closed_at.timestamp())
            generation = self.store.save(current)
        self._loaded = current

        return generation

    def current(self) -> VectorIndex | None:
        """Return the newest saved generation, reloading when a writer swapped it."""
        generation = self.store.current_generation()
        if self._loaded is None or self._loaded.generation != generation:
            self._loaded = self.store.load()
        return self._loaded

    def catch_up(self) -> int | None:
        """Add the stored past incidents this node's index lacks; return the generation.

        Every node keeps its own index, but incidents close on whichever node's worker
        ran the job: the database is the record, and rows newer than the newest one
        indexed here are embedded and added. Returns None when nothing was missing.
        """
        index = self.current()
        if index is None:
            with self.db.read_session() as session:
                stored = session.scalar(select(PastIncident.id).limit(1))
            return None if stored is None else int(self.rebuild()["generation"])
        newest = int(index.ids.max()) if len(index) else 0
        with self.db.read_session() as session:
            rows = list(
                session.scalars(
                    select(PastIncident)
                    .where(PastIncident.id > newest)
                    .order_by(PastIncident.id)
                )
            )
            session.expunge_all()
        if not rows:
            return None
        vectors = self.embedder.embed([past_incident_text(r) for r in rows])
        with self.store.writing():
            current = self.store.load() or self._build([])
            for row, vector in zip(rows, vectors, strict=True):
                if row.id not in current:
                    current.add(vector, row.id, row.tenant, row.closed_at.timestamp())
            generation = self.store.save(current)
        self._loaded = current
        logger.info(
            "similar-incident index caught up with the database",
            extra={"generation": generation, "added": len(rows)},
        )

        return generation

    def similar(
        self,
        text: str,
        *,
        tenant: str | None = None,
        k: int | None = None,
        max_age_days: int | None = None,
        exclude_incident_id: str | None = None,
    ) -> list[SimilarIncident]:
        """Return the past incidents most similar to ``text``, best first.

        Args:
            text: the incident as :func:`~appliance.retrieval.document.incident_text`
                writes it (scrubbed).
            tenant: only past incidents of this tenant; None means any.
            k: how many; the ``retrieval_top_k`` setting when omitted.
            max_age_days: only incidents closed since; 0 means no limit, None the
                ``retrieval_max_age_days`` setting.
            exclude_incident_id: leave this incident out (the one asked about).
        """
        return self.similar_to(
            self.embedder.embed([text])[0],
            tenant=tenant,
            k=k,
            max_age_days=max_age_days,
            exclude_incident_id=exclude_incident_id,
        )

    def similar_to(
        self,
        vector: np.ndarray,
        *,
        tenant: str | None = None,
        k: int | None = None,
        max_age_days: int | None = None,
        exclude_incident_id: str | None = None,
    ) -> list[SimilarIncident]:
        """Return the past incidents most similar to an embedded incident."""
        try:
            self.catch_up()
        except OSError:
            # A full disk or a read-only volume: serve the generation already saved.
            logger.warning("similar-incident index could not catch up", exc_info=True)
        index = self.current()
        if index is None:
            return []
        k = k or self.settings.retrieval_top_k
        age = self.settings.retrieval_max_age_days
        age = age if max_age_days is None else max_age_days
        closed_after = (utcnow() - dt.timedelta(days=age)).timestamp() if age else None
        exclude: set[int] = set()
        with self.db.read_session() as session:
            if exclude_incident_id is not None:
                exclude = set(
                    session.scalars(
                        select(PastIncident.id).where(
                            PastIncident.incident_id == exclude_incident_id
                        )
                    )
                )
            hits = index.search(
                vector, k, tenant=tenant, closed_after=closed_after, exclude=exclude
            )
            rows = {
                r.id: r
                for r in session.scalars(
                    select(PastIncident).where(
                        PastIncident.id.in_([h.id for h in hits])
                    )
                )
            }
            return [
                SimilarIncident(
                    incident_id=rows[h.id].incident_id,
                    tenant=rows[h.id].tenant,
                    similarity=round(h.similarity, 4),
                    closed_at=rows[h.id].closed_at,
                    resolution=rows[h.id].resolution,
                    closure_notes=rows[h.id].closure_notes,
                    summary=rows[h.id].summary,
                    techniques=list(rows[h.id].techniques),
                )
                for h in hits
                if h.id in rows
            ]
