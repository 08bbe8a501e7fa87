"""The model runtime of a worker: the active backend, every call recorded, hot swap.

Activation loads the new model beside the old one, runs a health prompt, switches
atomically and unloads the old model once the calls it was serving have finished. A
load that fails leaves the old model serving and says why. Calls hold the backend
they started on, so a swap never cuts one off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.llm import calls, registry
from appliance.llm.backend import Backend, Completion, Options, check_options
from appliance.llm.errors import ModelError, NoModelLoaded
from appliance.llm.manifests import Manifest, load_manifest
from appliance.privacy.prompt import ScrubbedPrompt

logger = logging.getLogger(__name__)

BackendFactory = Callable[[Manifest], registry.Choice]


@dataclass
class _Slot:
    """A loaded backend and the number of calls running on it."""

    backend: Backend
    running: int = 0


class ModelRuntime:
    """Owns the active model of one process and routes every call through it."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        choose: BackendFactory | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self._choose = choose or (lambda m: registry.choose(settings, m))
        self._slot: _Slot | None = None
        self._changed = threading.Condition()
        self._swap_lock = threading.Lock()
        self.status = "not_loaded"
        self.detail = ""
        self.passed_over: dict[str, str] = {}
        # Names the model to load on first use when none is active (the worker's
        # wanted model); None means calls fail until something is activated.
        self.wanted_model: Callable[[], str] | None = None

    # --- calls ----------------------------------------------------------------------

    def generate(
        self,
        prompt: ScrubbedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        options: Options | None = None,
        correlation_id: str | None = None,
    ) -> Completion:
        """Answer a scrubbed prompt on the active model and record the call.

        Raises:
            NoModelLoaded: no model is active.
            ModelError: the backend failed (the failure is recorded too).
        """
        slot = self._take()
        backend = slot.backend
        manifest = backend.manifest
        assert manifest is not None
        opts = check_options(type(backend), options)
        started_at, started = utcnow(), time.perf_counter()
        try:
            completion = backend.generate(prompt, schema=schema, options=opts)
        except Exception as exc:
            calls.record_call(
                self.db,
                started_at=started_at,
                backend=backend.name,
                model_name=manifest.name,
                model_sha256=manifest.sha256,
                options=opts,
                schema=schema,
                prompt=prompt,
                outcome=getattr(exc, "code", type(exc).__name__),
                error=f"{type(exc).__name__}: {exc}",
                duration_s=time.perf_counter() - started,
                correlation_id=correlation_id,
            )
            raise
        finally:
            self._give_back(slot)
        calls.record_call(
            self.db,
            started_at=started_at,
            backend=backend.name,
            model_name=manifest.name,
            model_sha256=manifest.sha256,
            options=opts,
            schema=schema,
            prompt=prompt,
            outcome="ok",
            completion=completion,
            correlation_id=correlation_id,
        )

        return completion

    def _take(self) -> _Slot:
        """Return the active slot, counting one more call on it."""
        if self._slot is None and self.wanted_model is not None:
            with self._swap_lock:
                load_first = self._slot is None
            if load_first:
                self.activate(self.wanted_model())
        with self._changed:
            if self._slot is None:
                raise NoModelLoaded(f"no model is loaded ({self.detail or 'idle'})")
            self._slot.running += 1
            return self._slot

    def _give_back(self, slot: _Slot) -> None:
        """Count a call on ``slot`` as finished."""
        with self._changed:
            slot.running -= 1
            self._changed.notify_all()

    @property
    def backend(self) -> Backend | None:
        """Return the active backend, if any."""
        slot = self._slot
        return slot.backend if slot else None

    def cancel(self) -> None:
        """Cancel every call running on the active backend."""
        backend = self.backend
        if backend is not None:
            backend.cancel()

    # --- hot swap -------------------------------------------------------------------

    def activate(self, name: str) -> Backend:
        """Load model ``name``, check it answers, switch to it, unload the old one.

        Raises:
            ModelError: the new model failed to load or answer; the old one serves on.
        """
        with self._swap_lock:
            manifest = load_manifest(name, self.settings)
            previous = self.status
            self.status, self.detail = "loading", f"loading {name}"
            try:
                choice = self._choose(manifest)
                backend = choice.backend
                backend.load(manifest)
                health = backend.health()
                if not health.available:
                    backend.unload()
                    raise ModelError(
                        f"model {name} failed its health prompt: {health.reason}"
                    )
            except Exception as exc:
                self.status = previous if self._slot else "failed"
                self.detail = f"activating {name} failed: {exc}"
                logger.warning(
                    "model activation failed",
                    extra={"model": name, "error_type": type(exc).__name__},
                )
                if isinstance(exc, ModelError):
                    raise
                raise ModelError(self.detail) from exc
            with self._changed:
                old, self._slot = self._slot, _Slot(backend)
            self.passed_over = choice.passed_over
            self.status, self.detail = "ready", f"{name} on {backend.name}"
            logger.info("model activated", extra={"model": name})
            if old is not None:
                self._retire(old)
            return backend

    def _retire(self, slot: _Slot) -> None:
        """Unload a replaced backend once the calls running on it have finished."""
        limit = self.settings.llm_timeout_seconds + 5
        with self._changed:
            self._changed.wait_for(lambda: slot.running == 0, timeout=limit)
        if slot.running:
            slot.backend.cancel()
            with self._changed:
                self._changed.wait_for(lambda: slot.running == 0, timeout=5)
        slot.backend.unload()

    def close(self) -> None:
        """Unload the active model."""
        with self._swap_lock, self._changed:
            slot, self._slot = self._slot, None
        if slot is not None:
            self._retire(slot)
        self.status, self.detail = "not_loaded", ""

    # --- reporting ------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Return the state the worker reports in its heartbeat (/readyz shows it)."""
        backend = self.backend
        info: dict[str, Any] = {"status": self.status, "detail": self.detail}
        info.update(backend.describe() if backend else {"backend": None, "model": None})
        if self.passed_over:
            info["fallback"] = dict(self.passed_over)
            reasons = "; ".join(f"{k}: {v}" for k, v in self.passed_over.items())
            info["detail"] = f"{self.detail} ({reasons})"

        return info
