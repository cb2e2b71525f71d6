"""The API's OpenAPI 3.1 document, generated from the code so that it cannot drift.

The aiohttp route table gives the paths and methods; each route declares its request and
response models with :func:`documented` (pydantic models: their ``model_json_schema``
becomes ``components.schemas``); the roles come from the use-case the route calls
(``hub.app.catalogue``, as ``staff_for`` reads them) or from its agency guard. Every
error is RFC 9457 problem+json with one of the stable ``ErrorCode`` types.
``GET /api/v1/openapi.json`` serves it to anyone: it holds no data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hub import __version__
from hub.crypto.request_signing import HEADER_AGENCY
from hub.protocol.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, ErrorCode
from hub.service.openapi_models import OpenApiDocument, Problem

__all__ = ["API_PREFIX", "Documented", "documented", "openapi_document", "routes"]

API_PREFIX: Final = "/api/v1/"
REF: Final = "#/components/schemas/{model}"
H = TypeVar("H", bound=Callable[..., Any])
routes = web.RouteTableDef()

_STAFF: Final = "staffBearer"
_AGENCY: Final = "agencySignature"
_SIGNATURE_HEADERS: Final = (
    f"`{HEADER_AGENCY}` (the agency id), `X-Marac-Key` (its identity key's fingerprint), "
    "`X-Marac-Timestamp` (RFC 3339 UTC, within 5 minutes of the hub's clock), "
    "`X-Marac-Nonce` (never reused), `X-Marac-Content-SHA256` (hex SHA-256 of the body; "
    'of `b""` for GET) and `X-Marac-Signature`: base64url Ed25519 signature by the '
    "agency's identity key over the canonical JSON (RFC 8785) of the method, path, sorted "
    "query, agency, key, timestamp, nonce and body digest "
    "(`hub.crypto.request_signing.sign_request` makes them)."
)


@dataclass(frozen=True, slots=True)
class Documented:
    """What a route declares for the document: its models and answers."""

    statuses: tuple[int, ...]
    response: type[BaseModel] | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    media: tuple[str, ...]
    tag: str | None


def documented(
    response: type[BaseModel] | None = None,
    *,
    status: int | tuple[int, ...] = 200,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    media: str | tuple[str, ...] = "application/json",
    tag: str | None = None,
) -> Callable[[H], H]:
    """Declare a route's JSON ``body``, ``query`` parameters and ``response`` (answered
    with ``status`` or each of several, as ``media``); put it right under
    ``@routes.<method>``, above the guard (``staff_for``, ``agency_request``), whose
    roles it reads."""
    statuses = (status,) if isinstance(status, int) else status
    medias = (media,) if isinstance(media, str) else media

    def decorate(handler: H) -> H:
        handler.openapi = Documented(  # type: ignore[attr-defined]
            statuses, response, body, query, medias, tag
        )
        return handler

    return decorate


def _summary(doc: str | None) -> tuple[str, str]:
    """The first sentence of a docstring, and the docstring as one paragraph per line."""
    text = " ".join((doc or "").split())
    first = re.split(r"(?<=[.:;])\s", text, maxsplit=1)[0].rstrip(".:;")
    return first[:120], text


def _error(status: int, title: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": title,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "How to authenticate: `Bearer` (staff) or `MaracSignature`",
                "schema": {"type": "string"},
                "required": True,
            }
        }
    return response


def _errors(secured: bool, takes_input: bool, takes_body: bool) -> dict[str, Any]:
    wanted = [404, 409]
    if takes_input:
        wanted.append(400)
    if secured:
        wanted += [401, 403]
    if takes_body:
        wanted += [413, 415]
    titles = {
        400: "Malformed or invalid input",
        401: "No valid bearer token or request signature",
        403: "Refused: role, area, agency status or policy",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "Body larger than the configured limit",
        415: "Body is not application/json",
    }
    out = {str(s): _error(s, titles[s]) for s in sorted(wanted)}
    out["default"] = _error(0, "Any other error (problem+json, with a stable problem type)")
    return out


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
        }
        for name in re.findall(r"\{(\w+)\}", path)
    ]


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in field.items() if k not in ("title", "description")},
            **({"description": field["description"]} if "description" in field else {}),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def _roles(handler: Any) -> tuple[str, ...]:
    roles: tuple[str, ...] = getattr(handler, "roles", ())
    return roles


def _security(roles: tuple[str, ...]) -> list[dict[str, list[str]]]:
    out: list[dict[str, list[str]]] = []
    if any(r != "agency" for r in roles):
        out.append({_STAFF: []})
    if "agency" in roles:
        out.append({_AGENCY: []})
    return out


def api_routes(app: web.Application) -> Iterator[tuple[str, str, Any]]:
    """``(method, path, handler)`` for every API route of ``app`` (not HEAD, which
    aiohttp adds to each GET)."""
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith(API_PREFIX) and route.method not in ("HEAD", "*"):
            yield route.method, path, route.handler


def openapi_document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s API routes."""
    found = sorted(api_routes(app), key=lambda r: (r[1], r[0]))
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for _, _, handler in found:
        declared: Documented | None = getattr(handler, "openapi", None)
        if declared is None:
            continue
        if declared.body is not None:
            models.append((declared.body, "validation"))
        if declared.response is not None:
            models.append((declared.response, "serialization"))
    refs, defs = models_json_schema(models, ref_template=REF)
    schemas: dict[str, Any] = defs.get("$defs", {})
    problem = schemas["Problem"]
    problem["properties"]["type"]["enum"] = [PROBLEM_TYPES[c].uri for c in ErrorCode]
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler in found:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, handler, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "marac-hub API",
            "version": __version__,
            "summary": "A MARAC hub: staff and agency API",
            "description": (
                "Sealed, logged sharing of MARAC case extracts with partner agencies. "
                "Every error is RFC 9457 application/problem+json whose `type` is "
                "`https://marac-hub.org/problems/<code>`. Staff send a bearer token; "
                "agencies sign each request. See docs/api.md."
            ),
            "license": {"name": "Proprietary", "identifier": "LicenseRef-marac-hub"},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                _STAFF: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "A member of staff's token (`marac-hub user add`); the roles each "
                        "operation admits are in its `x-roles`."
                    ),
                },
                _AGENCY: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Marac-Signature",
                    "description": "An approved agency's signed request: " + _SIGNATURE_HEADERS,
                },
            },
        },
    }


def _operation(
    method: str,
    path: str,
    handler: Any,
    refs: Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]],
) -> dict[str, Any]:
    declared: Documented | None = getattr(handler, "openapi", None)
    if declared is None:
        raise ValueError(f"{method} {path} is not documented (hub.service.openapi.documented)")
    summary, description = _summary(handler.__doc__)
    roles = _roles(handler)
    module = handler.__module__.rsplit(".", 1)[-1].removeprefix("routes_")
    op: dict[str, Any] = {
        "operationId": handler.__name__ if module == "agency" else f"{module}_{handler.__name__}",
        "summary": summary,
        "description": description
        + (f" Roles: {', '.join(roles)}." if roles else " Anyone may call it."),
        "tags": [declared.tag or module],
        "security": _security(roles),
        "x-roles": list(roles),
    }
    use_case = getattr(handler, "use_case", None)
    if use_case is not None:
        op["x-use-case"] = use_case
    parameters = _path_parameters(path)
    if declared.query is not None:
        schema = declared.query.model_json_schema(ref_template=REF)
        parameters += _query_parameters(schema)
    if parameters:
        op["parameters"] = parameters
    if declared.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(declared.body, "validation")]}},
        }
    ok: dict[str, Any] = {"description": summary or "Done"}
    if declared.response is not None:
        schema = refs[(declared.response, "serialization")]
        ok["content"] = {media: {"schema": schema} for media in declared.media}
    else:
        ok["content"] = {media: {"schema": {"type": "string"}} for media in declared.media}
    takes_input = bool(parameters) or declared.body is not None
    op["responses"] = {
        **{str(status): ok for status in declared.statuses},
        **_errors(bool(roles), takes_input, declared.body is not None),
    }
    return op


@routes.get("/api/v1/openapi.json")
@documented(OpenApiDocument, tag="meta")
async def openapi_json(request: web.Request) -> web.Response:
    """This document: the API in OpenAPI 3.1 (anyone may read it; it holds no data)."""
    return web.json_response(openapi_document(request.app))
