"""The contract every model backend fulfils.

A backend is a plug-in: a subclass of :class:`Backend` with a ``name``, a pydantic
``Options`` model that rejects unknown fields, and the methods below. One backend
instance serves one loaded model. The runtime (:mod:`appliance.llm.runtime`) records
every call and swaps backends without dropping calls in flight.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from appliance.config import Settings
from appliance.privacy.prompt import ScrubbedPrompt

if TYPE_CHECKING:
    from appliance.llm.manifests import Manifest


class Options(BaseModel):
    """Generation options every backend understands; unknown ones are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(
        default=512, ge=1, le=32_768, description="Most tokens to write."
    )
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    seed: int | None = Field(
        default=None, description="Sampling seed, for repeatable output."
    )
    timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Per-call deadline; blank means the configured one.",
    )


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run on this machine, and why not when it cannot."""

    available: bool
    reason: str = ""


@dataclass
class Completion:
    """What one call returned.

    Attributes:
        text: the generated text (scrubbed: it holds pseudonyms, not personal data).
        parsed: the text parsed as JSON when a schema was given.
        prompt_tokens: tokens in the rendered prompt.
        completion_tokens: tokens generated.
        cached_prompt_tokens: prompt tokens served from the prefix cache.
        time_to_first_token_s: seconds from the call to the first generated token.
        duration_s: seconds the whole call took.
        finish_reason: "stop" or "length".
    """

    text: str
    parsed: Any = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    time_to_first_token_s: float | None = None
    duration_s: float = 0.0
    finish_reason: str = "stop"
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """One model backend serving one loaded model."""

    name: ClassVar[str]
    options_model: ClassVar[type[Options]] = Options

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.manifest: Manifest | None = None
        self._cancel_events: set[threading.Event] = set()
        self._cancel_lock = threading.Lock()

    @abc.abstractmethod
    def is_available(self) -> Availability:
        """Say whether this backend can run here, with the reason when it cannot."""

    @abc.abstractmethod
    def load(self, manifest: Manifest) -> None:
        """Load the model the manifest describes; verify its file first.

        Raises:
            ModelFileInvalid: the file is missing or does not match the manifest.
            ModelError: the backend could not load it.
        """

    @abc.abstractmethod
    def health(self) -> Availability:
        """Say whether the loaded model answers."""

    @abc.abstractmethod
    def generate(
        self,
        prompt: ScrubbedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        options: Options | None = None,
    ) -> Completion:
        """Answer a scrubbed prompt, constrained to the JSON schema when given.

        Raises:
            ContextTooLong: the prompt does not fit; nothing was generated.
            GenerationTimeout: the call ran past its deadline.
            GenerationCancelled: :meth:`cancel` stopped the call.
        """

    @abc.abstractmethod
    def unload(self) -> None:
        """Free the model; the backend answers nothing after this."""

    def cancel(self) -> None:
        """Stop every call this backend is running now."""
        with self._cancel_lock:
            for event in self._cancel_events:
                event.set()

    def _open_call(self) -> threading.Event:
        """Register a call so :meth:`cancel` can reach it."""
        event = threading.Event()
        with self._cancel_lock:
            self._cancel_events.add(event)
        return event

    def _close_call(self, event: threading.Event) -> None:
        """Forget a finished call."""
        with self._cancel_lock:
            self._cancel_events.discard(event)

    def deadline_seconds(self, options: Options) -> float:
        """Return the call's timeout: the option, else the configured one."""
        return options.timeout_seconds or self.settings.llm_timeout_seconds

    def describe(self) -> dict[str, Any]:
        """Return what the worker reports about this backend."""
        manifest = self.manifest
        return {
            "backend": self.name,
            "model": manifest.name if manifest else None,
            "sha256": manifest.sha256 if manifest else None,
        }


def check_options(backend: type[Backend], options: Options | None) -> Options:
    """Return options of the backend's own type (its defaults when none)."""
    if options is None:
        return backend.options_model()
    if not isinstance(options, backend.options_model):
        return backend.options_model.model_validate(
            options.model_dump(exclude_unset=True)
        )

    return options
