"""Which model should be active, across processes, and the worker duty that obeys.

The admin page or ``appliance models activate`` writes a request row and an audit
attempt; every worker sees the newest request between jobs, hot swaps in a thread of
its own (a duty must return quickly), and writes the outcome and its audit row.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import select

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.governance import audit
from appliance.llm.manifests import default_manifest, load_manifest
from appliance.llm.runtime import ModelRuntime
from appliance.llm.tables import ModelActivation

if TYPE_CHECKING:
    from appliance.jobs.worker import Worker

logger = logging.getLogger(__name__)

ACTION = "model.activate"
_current: ModelRuntime | None = None


def correlation_id(activation_id: int) -> str:
    """Return the audit correlation id of one activation request."""
    return f"model-activation-{activation_id}"


def request_activation(
    db: Database, settings: Settings, name: str, *, actor: str
) -> int:
    """Ask the workers to make ``name`` the active model; return the request id.

    Raises:
        UnknownModel: no manifest has that name.
    """
    load_manifest(name, settings)
    with db.session() as session:
        row = ModelActivation(model_name=name, requested_by=actor)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=ACTION,
            outcome="attempt",
            tenant=settings.tenant,
            target=name,
            correlation_id=correlation_id(row.id),
        )
        return row.id


def wanted(db: Database) -> ModelActivation | None:
    """Return the newest request that is pending or was carried out."""
    with db.read_session() as session:
        return session.scalar(
            select(ModelActivation)
            .where(ModelActivation.state.in_(["requested", "active"]))
            .order_by(ModelActivation.id.desc())
            .limit(1)
        )


def get(db: Database, activation_id: int) -> ModelActivation | None:
    """Return one activation request."""
    with db.read_session() as session:
        return session.get(ModelActivation, activation_id)


def _finish(
    db: Database, settings: Settings, row_id: int, actor: str, error: str | None
) -> None:
    """Write a request's outcome and its audit row."""
    with db.session() as session:
        row = session.get(ModelActivation, row_id)
        if row is None:
            return
        row.state = "failed" if error else "active"
        row.detail = error
        row.finished_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action=ACTION,
            outcome="failure" if error else "success",
            tenant=settings.tenant,
            target=row.model_name,
            correlation_id=correlation_id(row_id),
            details={"reason": error} if error else {},
        )


class ActivationFollower:
    """Keeps a runtime on the model the newest request asks for."""

    def __init__(self, runtime: ModelRuntime, actor: str) -> None:
        self.runtime = runtime
        self.actor = actor
        self.handled: int | None = None
        self._thread: threading.Thread | None = None

    def busy(self) -> bool:
        """Say whether a swap is running."""
        return self._thread is not None and self._thread.is_alive()

    def poll(self) -> None:
        """Start a swap in the background when a new request or no model is there."""
        if self.busy():
            return
        row = wanted(self.runtime.db)
        if self.handled is None and not self.runtime.settings.llm_preload:
            # Load on first use; only requests made from now on are carried out.
            self.handled = row.id if row and row.state == "active" else 0
            if row is None or row.state == "active":
                return
        if row is not None and row.id == self.handled:
            return
        if row is None and (self.handled is not None or self.runtime.backend):
            return
        self.handled = row.id if row else 0
        self._thread = threading.Thread(
            target=self._swap,
            args=(
                row.id if row else None,
                row.model_name if row else None,
                row.state if row else None,
            ),
            name="model-swap",
            daemon=True,
        )
        self._thread.start()

    def _swap(self, row_id: int | None, name: str | None, state: str | None) -> None:
        """Activate the requested model (the default when nothing was requested)."""
        runtime = self.runtime
        try:
            target = name or default_manifest(runtime.settings).name
            runtime.activate(target)
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        if row_id is not None and state == "requested":
            _finish(runtime.db, runtime.settings, row_id, self.actor, error)

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running swap (tests)."""
        if self._thread is not None:
            self._thread.join(timeout)


def attach(worker: Worker) -> ModelRuntime:
    """Give a worker its model runtime: heartbeat info and the activation duty."""
    global _current
    runtime = ModelRuntime(worker.db, worker.settings)
    follower = ActivationFollower(runtime, actor=f"worker:{worker.worker_id}")

    def follow_model_activations(_worker: Worker) -> None:
        follower.poll()

    def wanted_model() -> str:
        row = wanted(worker.db)
        return row.model_name if row else default_manifest(worker.settings).name

    runtime.wanted_model = wanted_model
    if not worker.settings.llm_preload:
        runtime.detail = "the model loads on first use"
    worker.info_providers["model"] = runtime.info
    worker.duties.append(follow_model_activations)
    _current = runtime

    return runtime


def current_runtime() -> ModelRuntime:
    """Return this worker's model runtime (job handlers call models through it).

    Raises:
        NoModelLoaded: this process is not a worker with a model runtime.
    """
    from appliance.llm.errors import NoModelLoaded

    if _current is None:
        raise NoModelLoaded("only the worker process runs models")
    return _current
