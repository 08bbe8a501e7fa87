"""Job handlers by kind, and the context a handler runs in."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.errors import PermanentJobError

# Modules whose import registers handlers. A domain that adds job kinds lists its
# module here; `appliance worker --import MODULE` adds plug-ins at run time.
HANDLER_MODULES = [
    "appliance.jobs.builtin",
    "appliance.enrich.jobs",
    "appliance.retrieval.jobs",
    "appliance.xdr.ingest",
    "appliance.privacy.jobs",
    "appliance.tasks.jobs",
    "appliance.correlate.jobs",
]


@dataclass
class JobContext:
    """What a handler gets: the job, the database, and ways to report and stop.

    Writes that must happen exactly once go through :meth:`defer`: they run in the
    same transaction that marks the job succeeded, so a worker that dies or loses its
    lease never leaves them half done or done twice.
    """

    db: Database
    settings: Settings
    worker_id: str
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    correlation_id: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _progress: dict[str, Any] | None = None
    _deferred: list[Callable[[Session], None]] = field(default_factory=list)

    @property
    def should_stop(self) -> bool:
        """Whether the job was cancelled, its lease lost, or the worker is stopping."""
        return self.stop.is_set()

    def report_progress(self, done: int, total: int, step: str = "") -> None:
        """Record progress; the next heartbeat stores it on the job."""
        self._progress = {"done": done, "total": total, "step": step}

    def take_progress(self) -> dict[str, Any] | None:
        """Return progress reported since the last call, once."""
        progress, self._progress = self._progress, None
        return progress

    def defer(self, write: Callable[[Session], None]) -> None:
        """Run ``write`` in the transaction that completes the job."""
        self._deferred.append(write)

    def run_deferred(self, session: Session) -> None:
        """Apply the deferred writes (called by the worker)."""
        for write in self._deferred:
            write(session)


Handler = Callable[[JobContext], "dict[str, Any] | None"]

_handlers: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of ``kind``."""

    def register(func: Handler) -> Handler:
        if kind in _handlers and _handlers[kind] is not func:
            raise ValueError(f"job kind {kind!r} already has a handler")
        _handlers[kind] = func
        return func

    return register


def load_handlers(extra_modules: list[str] | None = None) -> list[str]:
    """Import the handler modules and return the registered job kinds."""
    for name in HANDLER_MODULES + list(extra_modules or []):
        importlib.import_module(name)

    return sorted(_handlers)


def get_handler(kind: str) -> Handler:
    """Return the handler for ``kind``.

    Raises:
        PermanentJobError: no handler is registered; the message lists the known kinds.
    """
    try:
        return _handlers[kind]
    except KeyError:
        known = ", ".join(sorted(_handlers)) or "none"
        raise PermanentJobError(
            f"no handler for job kind {kind!r}; known kinds: {known}"
        ) from None
