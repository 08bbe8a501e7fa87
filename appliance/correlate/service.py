"""Run a clustering over raw alerts, store its suggestions, and apply a suggestion.

The command line, the worker's job and the API go through here. The embedding model
loads once per process (lazily, on first use, and only where
``correlate_semantic`` is on); the web process never calls :func:`encoder_cache`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.correlate.alerts import AlertBatch, normalize_batch
from appliance.correlate.clusterer import Clustering, ClusterSettings, cluster_alerts
from appliance.correlate.embeddings import EmbeddingCache, MiniLMEncoder
from appliance.correlate.suggestions import Suggestion, assignments, suggest
from appliance.correlate.tables import CorrelationSuggestion
from appliance.correlate.waves import WaveSettings
from appliance.db.base import utcnow
from appliance.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

TASK = "correlate"
_cache: EmbeddingCache | None = None
_cache_lock = threading.Lock()


@dataclass
class ClusterRun:
    """What one clustering run produced."""

    batch: AlertBatch
    clustering: Clustering
    suggestions: list[Suggestion]
    rows: list[dict[str, object]]

    def summary(self) -> dict[str, int]:
        """Return the counts of the run."""
        return {
            "alerts": len(self.batch.alerts),
            "duplicates": self.batch.duplicates,
            "clusters": len(self.suggestions),
            "noise": sum(1 for row in self.rows if row["cluster_id"] is None),
        }


def cluster_settings(settings: Settings) -> ClusterSettings:
    """Return the clusterer's thresholds from the appliance settings."""
    return ClusterSettings(
        gap_ms=int(settings.correlate_gap_minutes * 60_000),
        waves=WaveSettings(
            gap_ms=int(settings.correlate_gap_minutes * 60_000),
            min_targets=settings.correlate_wave_min_hosts,
        ),
    )


def encoder_cache(settings: Settings) -> EmbeddingCache | None:
    """Return the process's embedding cache, loading the model on first use."""
    global _cache
    if not settings.correlate_semantic:
        return None
    with _cache_lock:
        if _cache is None:
            path = Path(settings.embedding_model_path or "") or None
            encoder = MiniLMEncoder(path if settings.embedding_model_path else None)
            _cache = EmbeddingCache(encoder)
            logger.info("embedding model loaded for correlation")

    return _cache


def run_clustering(
    raws: Iterable[object],
    settings: Settings,
    *,
    embeddings: EmbeddingCache | None = None,
) -> ClusterRun:
    """Normalize, cluster and describe a batch of XDR alerts.

    Raises:
        InvalidAlert: an alert is malformed, ids clash, or the batch is too large.
    """
    batch = normalize_batch(raws, max_alerts=settings.correlate_max_alerts)
    clustering = cluster_alerts(
        batch.alerts, cluster_settings(settings), embeddings=embeddings
    )
    suggestions = suggest(clustering)

    return ClusterRun(
        batch, clustering, suggestions, assignments(clustering, suggestions)
    )


def incident_of(
    raws: Sequence[Mapping[str, Any]], alert_ids: Sequence[str]
) -> str | None:
    """Return the XDR incident most of a suggestion's alerts already belong to."""
    wanted = set(alert_ids)
    found = Counter(
        str(raw["incident_id"])
        for raw in raws
        if str(raw.get("alert_id")) in wanted and raw.get("incident_id")
    )

    return found.most_common(1)[0][0] if found else None


def store_suggestions(
    session: Session,
    tenant: str,
    run_id: str,
    run: ClusterRun,
    raws: Sequence[Mapping[str, Any]] = (),
) -> list[int]:
    """Store a run's suggestions (again for the same run: kept once); return ids."""
    ids = []
    for suggestion in run.suggestions:
        existing = session.scalar(
            select(CorrelationSuggestion).where(
                CorrelationSuggestion.tenant == tenant,
                CorrelationSuggestion.run_id == run_id,
                CorrelationSuggestion.cluster_id == suggestion.cluster_id,
            )
        )
        if existing is None:
            existing = CorrelationSuggestion(
                tenant=tenant,
                run_id=run_id,
                cluster_id=suggestion.cluster_id,
                title=suggestion.title,
                severity=suggestion.severity,
                confidence=suggestion.confidence,
                evidence=list(suggestion.evidence),
                alert_ids=list(suggestion.alert_ids),
                alert_count=len(suggestion.alert_ids),
                incident_id=incident_of(raws, suggestion.alert_ids),
                first_ms=suggestion.first_ms,
                last_ms=suggestion.last_ms,
                state="proposed",
            )
            session.add(existing)
            session.flush()
        ids.append(existing.id)

    return ids


def write_back_text(row: CorrelationSuggestion) -> str:
    """Return the grouping as an analyst reads it in the XDR incident."""
    lines = [
        f"Correlated alerts: {row.title}",
        f"Severity {row.severity}, confidence {row.confidence:.2f}.",
        "Evidence: " + "; ".join(str(e) for e in row.evidence),
        "Alerts: " + ", ".join(str(a) for a in row.alert_ids[:100]),
    ]
    if row.alert_count > 100:
        lines.append(f"(and {row.alert_count - 100} more)")

    return "\n".join(lines)


def decide(
    session: Session,
    settings: Settings,
    suggestion_id: int,
    *,
    actor: str,
    approve: bool,
    note: str | None = None,
) -> CorrelationSuggestion:
    """Record an analyst's decision; an approval goes to the write-back path.

    The grouping is written to the XDR incident that holds the alerts, through
    :func:`appliance.xdr.writeback.queue_write_back`, so the governance gate decides
    whether it is sent now, waits for a second approval or stays a draft.

    Raises:
        NotFound: no such suggestion for this tenant.
        Conflict: the suggestion was already decided, or has no incident to go to.
    """
    row = session.get(CorrelationSuggestion, suggestion_id)
    if row is None or row.tenant != settings.tenant:
        raise NotFound(f"suggestion {suggestion_id} does not exist")
    if row.state != "proposed":
        raise Conflict(f"suggestion {suggestion_id} is already {row.state}")
    row.decided_by = actor
    row.decided_at = utcnow()
    row.note = (note or "")[:2000] or None
    if not approve:
        row.state = "rejected"
        return row
    if row.incident_id is None:
        raise Conflict(
            f"suggestion {suggestion_id} has no XDR incident to write to; "
            "its alerts carry no incident_id"
        )
    entry = _queue(session, settings, row, actor)
    row.outbox_id = entry.id
    row.state = (
        entry.state.value
        if entry.state.value
        in {
            "queued",
            "needs_approval",
            "draft",
        }
        else "queued"
    )

    return row


def _queue(
    session: Session, settings: Settings, row: CorrelationSuggestion, actor: str
) -> Any:
    """Hand an approved suggestion to the audited write-back path."""
    from appliance.governance.gate import WriteBackRequest
    from appliance.xdr.writeback import queue_write_back

    assert row.incident_id is not None
    request = WriteBackRequest(
        tenant=row.tenant,
        task=TASK,
        kind="comment",
        incident_id=row.incident_id,
        incident_severity=row.severity,
        confidence=row.confidence,
        details={"suggestion_id": row.id, "alert_ids": list(row.alert_ids)},
    )

    return queue_write_back(
        session,
        settings,
        request,
        idempotency_key=f"correlate-suggestion-{row.id}",
        text=write_back_text(row),
        actor=actor,
    )
