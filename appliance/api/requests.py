"""Parsing and validating request bodies, the same way in every view."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from appliance.errors import BadRequest, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)

# Deeper than any real payload (an XDR incident nests about six levels); a limit well
# under Python's recursion limit keeps validation and storage from overflowing it.
MAX_JSON_DEPTH = 64


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any) -> int:
    """Return how deeply ``value`` nests lists and objects, without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)

    return deepest


def parse_json(raw: bytes | str) -> Any:
    """Parse a request body as strict JSON.

    NaN and Infinity are refused (they are not JSON and would not serialize back),
    and so is nesting deeper than :data:`MAX_JSON_DEPTH`.

    Raises:
        BadRequest: the body is not valid JSON, or nests too deeply.
    """
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("the request body is not valid JSON") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadRequest(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")

    return data


def json_body(model: type[M]) -> M:
    """Parse the request's JSON body into ``model``.

    Raises:
        UnsupportedMediaType: the body is not declared as JSON.
        BadRequest: the body is not valid JSON.
        ValidationFailed: the JSON does not match the model; details list each error.
    """
    if not request.is_json:
        raise UnsupportedMediaType("the request body must be application/json")
    data = parse_json(request.get_data())
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed("the request body is invalid", details=details) from None
