"""Parsing and validating request bodies, the same way in every view."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from appliance.errors import BadRequest, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    """Parse the request's JSON body into ``model``.

    Raises:
        UnsupportedMediaType: the body is not declared as JSON.
        BadRequest: the body is not valid JSON.
        ValidationFailed: the JSON does not match the model; details list each error.
    """
    if not request.is_json:
        raise UnsupportedMediaType("the request body must be application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("the request body is not valid JSON")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed("the request body is invalid", details=details) from None
