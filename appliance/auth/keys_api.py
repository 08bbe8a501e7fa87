"""API keys for connectors: list, create (shown once) and revoke (admin only)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select

from appliance.api.openapi import document
from appliance.api.requests import json_body
from appliance.app_state import state
from appliance.auth import api_keys
from appliance.auth.guard import current_principal, require_role
from appliance.auth.roles import Role
from appliance.auth.tables import ApiKey

bp = Blueprint("keys", __name__, url_prefix="/api/v1/keys")


class KeyOut(BaseModel):
    """An API key as listed (never the key itself)."""

    key_id: str
    name: str
    role: Role
    scopes: list[str]
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyOut:
        """Serialize a key row."""
        return cls(
            key_id=row.key_id,
            name=row.name,
            role=Role(row.role),
            scopes=list(row.scopes),
            created_by=row.created_by,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class KeyList(BaseModel):
    """Every API key."""

    keys: list[KeyOut]


class KeyIn(BaseModel):
    """A new key: a name, the role it acts with and the route groups it may call."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.VIEWER
    scopes: list[str] = Field(min_length=1)


class KeyCreated(BaseModel):
    """A new key; ``key`` is shown this once and never again."""

    key: str
    details: KeyOut


def _actor() -> str:
    """Return the calling admin's name."""
    principal = current_principal()
    return principal.name if principal else "unknown"


@bp.get("")
@document("List API keys.", tags=["keys"], responses={200: KeyList})
@require_role(Role.ADMIN)
def list_keys() -> ResponseReturnValue:
    """Return every key, revoked ones included."""
    with state(current_app).db.read_session() as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.id))
        body = KeyList(keys=[KeyOut.of(row) for row in rows])

    return jsonify(body.model_dump(mode="json"))


@bp.post("")
@document(
    "Create an API key; the key is in this response only.",
    tags=["keys"],
    request=KeyIn,
    responses={201: KeyCreated},
)
@require_role(Role.ADMIN)
def create_key() -> ResponseReturnValue:
    """Create a key and return it once."""
    body = json_body(KeyIn)
    app_state = state(current_app)
    with app_state.db.session() as session:
        row, key = api_keys.create_key(
            session,
            app_state.settings,
            name=body.name,
            role=body.role,
            scopes=body.scopes,
            actor=_actor(),
        )
        out = KeyCreated(key=key, details=KeyOut.of(row))

    return jsonify(out.model_dump(mode="json")), 201


@bp.post("/<key_id>/revoke")
@document(
    "Revoke an API key.",
    tags=["keys"],
    responses={200: KeyOut, 404: "No such key", 409: "Already revoked"},
)
@require_role(Role.ADMIN)
def revoke_key(key_id: str) -> ResponseReturnValue:
    """Revoke the key; it is refused from now on."""
    app_state = state(current_app)
    with app_state.db.session() as session:
        row = api_keys.revoke_key(session, app_state.settings, key_id, actor=_actor())
        out = KeyOut.of(row)

    return jsonify(out.model_dump(mode="json"))
