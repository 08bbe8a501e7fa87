"""The OpenAPI 3.1 document, built from the routes themselves.

Each view declares its contract with :func:`document`; the document at
``/api/v1/openapi.json`` is assembled from the registered URL rules, so a route that
is not declared shows up as a failing test rather than as a silent gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from appliance.api.routing import ROW_ID_MAX

bp = Blueprint("openapi", __name__)

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__openapi__"
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": ROW_ID_MAX},
    "float": {"type": "number"},
    "string": {"type": "string"},
    "path": {"type": "string"},
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message", "request_id"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
                "details": {},
            },
        }
    },
}


def document(
    summary: str,
    *,
    tags: list[str] | None = None,
    request: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | str] | None = None,
    content_type: str = "application/json",
    security: list[str] | None = None,
) -> Callable[[F], F]:
    """Declare a view's OpenAPI contract.

    Args:
        summary: one line that says what the route does.
        tags: the groups it is listed under.
        request: pydantic model of the JSON body, if any.
        responses: by status, a pydantic model of the body or a description.
        content_type: media type of the successful response.
        security: names of the security schemes that accept it.
    """

    def mark(view: F) -> F:
        setattr(
            view,
            ATTRIBUTE,
            {
                "summary": summary,
                "tags": tags or [],
                "request": request,
                "responses": responses or {200: "OK"},
                "content_type": content_type,
                "security": security,
            },
        )
        return view

    return mark


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    """Add the model (and the models it nests) to components; return its $ref."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, nested in schema.pop("$defs", {}).items():
        components[name] = nested
    components[model.__name__] = schema

    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(
    rule_path: str, spec: dict[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    """Build one OpenAPI operation object from a view's declaration."""
    operation: dict[str, Any] = {"summary": spec["summary"], "tags": spec["tags"]}
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": dict(_TYPES.get(converter or "string", _TYPES["string"])),
        }
        for converter, name in _CONVERTER.findall(rule_path)
    ]
    if parameters:
        operation["parameters"] = parameters
    if spec["request"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _schema_ref(spec["request"], components)}
            },
        }
    responses: dict[str, Any] = {}
    for status, body in spec["responses"].items():
        if isinstance(body, str):
            entry: dict[str, Any] = {"description": body}
            if status < 400 and spec["content_type"] != "application/json":
                entry["content"] = {
                    spec["content_type"]: {"schema": {"type": "string"}}
                }
        else:
            entry = {
                "description": body.__doc__.strip().splitlines()[0]
                if body.__doc__
                else "OK",
                "content": {
                    "application/json": {"schema": _schema_ref(body, components)}
                },
            }
        responses[str(status)] = entry
    responses.setdefault(
        "default",
        {
            "description": "Error",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
            },
        },
    )
    operation["responses"] = responses
    if spec["security"] is not None:
        operation["security"] = [{name: []} for name in spec["security"]]

    return operation


def undocumented_rules(app: Flask) -> list[str]:
    """Return the URL rules whose view has no OpenAPI declaration."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if not hasattr(app.view_functions[rule.endpoint], ATTRIBUTE):
            missing.append(rule.rule)

    return sorted(missing)


def build_document(app: Flask) -> dict[str, Any]:
    """Assemble the OpenAPI document of every documented route of ``app``."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        spec = getattr(app.view_functions.get(rule.endpoint), ATTRIBUTE, None)
        if spec is None:
            continue
        path = _CONVERTER.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(rule.rule, spec, components)
            operation["operationId"] = (
                f"{method.lower()}_{rule.endpoint.replace('.', '_')}"
            )
            paths.setdefault(path, {})[method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Appliance API",
            "version": app.config.get("APPLIANCE_VERSION", "0"),
            "description": "Air-gapped AI assistant for Cortex XDR incidents.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Appliance-Signature",
                },
            },
        },
    }


@bp.get("/api/v1/openapi.json")
@document("The OpenAPI document of this API.", tags=["meta"])
def openapi_document() -> ResponseReturnValue:
    """Serve the OpenAPI document."""
    return jsonify(build_document(current_app))
