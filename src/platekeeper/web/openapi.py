"""The API's OpenAPI document says every refusal a route can answer, with the body it carries.

Refusals shared by a kind of route are added from facts about the route: its :class:`Requirement` (401 without
valid credentials, 403 when the role, the token's scopes, training or the CSRF token fall short), its method (413
past ``ingest.max_request_bytes``), its body (400: not JSON at all) and its path (404: a record named in the path
may not exist); every route may answer 422 (an invalid
parameter or body, in platekeeper's shape rather than FastAPI's default one, or NUL in any text: ``web/nul.py``).
What only some routes answer (400, 404, 409, 415, 423) is declared on the route (``responses={404: {"description":
...}}``). Every 4xx gets :class:`ErrorBody` as its body, or, where the route declares a body of its own for that
status, either.
``tests/test_fuzz.py`` holds every answer of the API to this document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from platekeeper.web.deps import Requirement

__all__ = ["ErrorBody", "Problem", "install_openapi", "upload_body"]

WHY = {
    400: "The request breaks a rule; the detail names the field and the rule",
    401: "No valid session, API token or camera key",
    403: "The role, the token's scopes, current training or the CSRF token does not allow this",
    404: "No such record",
    406: "The route cannot answer in the media type the client accepts",
    409: "The record is not in a state that allows this",
    413: "The body is larger than ingest.max_request_bytes",
    415: "The body's media type is not one this route takes",
    422: "A parameter or the body is not valid; the problems name each field",
    423: "The account is locked after failed sign-ins",
    429: "Over a rate limit; Retry-After says in how many seconds to try again",
}
BY_REQUIREMENT = {  # 429: the API token's or the camera key's rate limit (rate_limits.api_per_token, api_per_camera)
    "public": (),
    "sign_out": (403,),
    "camera": (401, 429),
    "signed_in": (401, 403, 429),
    "permission": (401, 403, 429),
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


class Problem(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="Where: the parameter or the body's field path, dotted")
    message: str = Field(description="What is wrong with it")


class ErrorBody(BaseModel):
    """What every refusal of the JSON API carries; some add fields of their own (e.g. an import's bad rows)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="What was refused and why, naming the field and the rule")
    problems: list[Problem] | dict[str, str] | None = Field(
        None, description="Each invalid field (422), or each missing or unacceptable part of an access context (400)"
    )


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def upload_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads its body itself: JSON shaped as ``model``, or multipart with the
    same JSON in a ``batch`` part and the images in file parts."""
    schema = model.model_json_schema()
    json_schema = _inline(schema, schema.get("$defs", {}))
    multipart = {
        "type": "object",
        "properties": {"batch": {"type": "string", "description": f"The JSON batch ({model.__name__})"}},
        "required": ["batch"],
        "additionalProperties": {"type": "string", "format": "binary"},
    }
    content = {"application/json": {"schema": json_schema}, "multipart/form-data": {"schema": multipart}}
    return {"requestBody": {"required": True, "content": content}}


def _requirements(dependant: Dependant) -> Iterator[Requirement]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, Requirement):
            yield dep.call
        yield from _requirements(dep)


def _shared_refusals(route: APIRoute) -> set[int]:
    codes: set[int] = set()
    for requirement in _requirements(route.dependant):
        codes.update(BY_REQUIREMENT.get(requirement.kind, ()))
    codes.add(422)  # any route: a parameter or body that fails validation, or NUL in any text (web/nul.py)
    if route.body_field:
        codes.add(400)  # a body that is not JSON at all
    if (route.methods or set()) & WRITES:
        codes.add(413)
    if route.dependant.path_params:
        codes.add(404)  # a route that names a record in its path may find no such record
    return codes


def _with_error_body(declared: dict[str, Any] | None, code: int) -> dict[str, Any]:
    """The refusal's ``ErrorBody``, or either that or the body the route declared for this status itself."""
    schema = (declared or {}).get("content", {}).get("application/json", {}).get("schema")
    if schema and schema.get("$ref") not in (ERROR_REF["$ref"], "#/components/schemas/HTTPValidationError"):
        schema = {"anyOf": [schema, ERROR_REF]}
    else:
        schema = ERROR_REF
    description = (declared or {}).get("description") or WHY.get(code, "Refused")
    if description == "Validation Error":  # FastAPI's default wording
        description = WHY[code]
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs"))
    components["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components["ErrorBody"].pop("$defs", None)
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and 400 <= int(code) < 500}
            for code in sorted(_shared_refusals(route) | declared):
                responses[str(code)] = _with_error_body(responses.get(str(code)), code)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 shape, which platekeeper never sends
        components.pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the document above at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
