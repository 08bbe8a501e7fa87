"""Installed models: manifests, file state, import, verify and activation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue

from appliance.admin import queries
from appliance.admin.blueprint import actor, app_state, bp, form_text, page
from appliance.api.openapi import document
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.config import Settings
from appliance.errors import ValidationFailed
from appliance.llm import activation, store
from appliance.llm.errors import ModelError
from appliance.llm.manifests import Manifest, list_manifests, load_manifest


def _file_state(manifest: Manifest, settings: Settings) -> dict[str, Any]:
    """Say where a model's file is and whether it looks whole (size, not sha256)."""
    try:
        path = manifest.resolve_path(settings)
    except ModelError as exc:
        return {"path": None, "state": "missing", "detail": str(exc)}
    if not path.exists():
        return {"path": str(path), "state": "missing", "detail": "no file there"}
    if manifest.size is not None and path.is_file():
        size = path.stat().st_size
        if size != manifest.size:
            detail = f"{size} bytes, the manifest says {manifest.size}"
            return {"path": str(path), "state": "invalid", "detail": detail}
    detail = "present; the sha256 is checked on load and by Verify"
    return {"path": str(path), "state": "present", "detail": detail}


@bp.get("/models")
@document(
    "List the models, their file state, activations and recent call figures.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.VIEWER, scope="models")
def model_list() -> ResponseReturnValue:
    """List the models, their file state, activations and recent call figures."""
    state = app_state()
    settings = state.settings
    manifests = list_manifests(settings)
    wanted = activation.wanted(state.db)
    with state.db.read_session() as session:
        context: dict[str, Any] = {
            "activations": queries.activations(session),
            "statistics": queries.call_statistics(session),
            "worker_models": queries.model_states(
                queries.live_workers(session, settings)
            ),
        }

    return page(
        "models.html",
        models=[(m, _file_state(m, settings)) for m in manifests],
        wanted=wanted,
        **context,
    )


@bp.post("/models/<name>/activate")
@document(
    "Ask the workers to hot-swap to ``name``; the page then shows its progress.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="models")
def activate_model(name: str) -> ResponseReturnValue:
    """Ask the workers to hot-swap to ``name``; the page then shows its progress."""
    state = app_state()
    request_id = activation.request_activation(
        state.db, state.settings, name, actor=actor()
    )
    flash(f"Activation {request_id} of {name} requested; workers swap when ready.")

    return redirect(url_for("admin.model_list"), 303)


@bp.post("/models/<name>/verify")
@document(
    "Check a model file's size, format and sha256 against its manifest.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="models")
def verify_model(name: str) -> ResponseReturnValue:
    """Check a model file's size, format and sha256 against its manifest."""
    settings = app_state().settings
    manifest = load_manifest(name, settings)
    try:
        store.verify(manifest, manifest.resolve_path(settings))
    except ModelError as exc:
        flash(f"{name} does not verify: {exc}")
    else:
        flash(f"{name} verifies: the sha256 matches its manifest.")

    return redirect(url_for("admin.model_list"), 303)


@bp.post("/models/import")
@document(
    "Copy a model file already on the appliance's disk into the model store.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="models")
def import_model() -> ResponseReturnValue:
    """Copy a model file already on the appliance's disk into the model store."""
    settings = app_state().settings
    raw = form_text("path", limit=1000)
    if not raw:
        raise ValidationFailed("give the path of a model file on the appliance")
    path = Path(raw)
    if not path.exists():
        raise ValidationFailed(f"{raw} does not exist on the appliance")
    manifest_raw = form_text("manifest", limit=1000)
    manifest = store.import_model(
        path, settings, manifest_file=Path(manifest_raw) if manifest_raw else None
    )
    flash(f"Imported {manifest.name}; its sha256 matched the manifest.")

    return redirect(url_for("admin.model_list"), 303)
