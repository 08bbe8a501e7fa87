"""Errors of the model runtime; callers branch on the type, never on the text."""

from __future__ import annotations

from appliance.errors import ApplianceError, NotFound, Unavailable, ValidationFailed


class ModelError(ApplianceError):
    """A model backend failed to load or to answer."""

    code = "model_error"


class UnknownBackend(NotFound):
    """No backend has the requested name."""

    code = "unknown_backend"


class UnknownModel(NotFound):
    """No model manifest has the requested name."""

    code = "unknown_model"


class BackendUnavailable(Unavailable):
    """The backend cannot run on this machine (no GPU, library missing)."""

    code = "backend_unavailable"


class ModelFileInvalid(ModelError):
    """A model file is missing, truncated or does not match its manifest's sha256."""

    code = "model_file_invalid"


class ContextTooLong(ValidationFailed):
    """The prompt and the requested output do not fit the model's context window."""

    code = "context_too_long"


class GenerationTimeout(ModelError):
    """A call ran past its deadline and was stopped."""

    code = "generation_timeout"


class GenerationFailed(ModelError):
    """The inference library raised an error of its own in the middle of a call."""

    code = "generation_failed"


class GenerationCancelled(ModelError):
    """A call was cancelled while it ran."""

    code = "generation_cancelled"


class NoModelLoaded(Unavailable):
    """No model is active in this process."""

    code = "no_model_loaded"


class InvalidOutput(ModelError):
    """The model's output is not the JSON its schema asks for (cut short, say)."""

    code = "invalid_output"
