"""The backends this appliance knows, which can run here, and which one to use."""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.config import Settings
from appliance.llm.backend import Availability, Backend
from appliance.llm.errors import BackendUnavailable, UnknownBackend
from appliance.llm.llama_cpp_backend import LlamaCppBackend
from appliance.llm.manifests import Manifest
from appliance.llm.vllm_backend import VllmBackend

# In order of preference when the choice is "auto": the GPU first.
BACKENDS: dict[str, type[Backend]] = {
    VllmBackend.name: VllmBackend,
    LlamaCppBackend.name: LlamaCppBackend,
}


def backend_class(name: str) -> type[Backend]:
    """Return the backend called ``name``.

    Raises:
        UnknownBackend: no such backend; the message lists the known ones.
    """
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise UnknownBackend(f"unknown model backend {name!r}; known backends: {known}")

    return BACKENDS[name]


def availability(settings: Settings) -> dict[str, Availability]:
    """Return, for every backend, whether it can run here and why not."""
    return {name: cls(settings).is_available() for name, cls in BACKENDS.items()}


@dataclass
class Choice:
    """The backend chosen for a model, and why the preferred others were passed."""

    backend: Backend
    passed_over: dict[str, str] = field(default_factory=dict)


def choose(settings: Settings, manifest: Manifest) -> Choice:
    """Pick the backend that serves ``manifest`` under the ``llm_backend`` setting.

    With ``auto`` the GPU backend comes first; a backend that cannot run here, or
    cannot serve this model's format, is passed over with the reason, so /readyz
    can say why the appliance runs on the fallback.

    Raises:
        UnknownBackend: ``llm_backend`` names no backend.
        BackendUnavailable: no backend can serve the model here.
    """
    wanted = settings.llm_backend
    if wanted != "auto":
        backend_class(wanted)
    names = list(BACKENDS) if wanted == "auto" else [wanted]
    passed_over: dict[str, str] = {}
    for name in names:
        backend = BACKENDS[name](settings)
        found = backend.is_available()
        if not found.available:
            passed_over[name] = found.reason
        elif name not in manifest.backends:
            passed_over[name] = f"model {manifest.name} has no {name} format"
        else:
            return Choice(backend, passed_over)
    reasons = "; ".join(f"{name}: {why}" for name, why in passed_over.items())

    raise BackendUnavailable(f"no backend can serve {manifest.name} here ({reasons})")
