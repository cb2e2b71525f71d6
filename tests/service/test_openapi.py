"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document generated from the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from openapi_spec_validator import validate

from hub.app.catalogue import roles_of
from hub.protocol.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE, ErrorCode
from hub.service.openapi import documented, openapi_document
from hub.testing import RunningHub, running_hub


@pytest.fixture
async def hub(tmp_path: Path) -> Any:
    async with running_hub(tmp_path) as running:
        yield running


async def _document(hub: RunningHub) -> dict[str, Any]:
    """The document as anyone fetches it: no token."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{hub.url}/api/v1/openapi.json") as resp,
    ):
        assert resp.status == 200
        assert resp.content_type == "application/json"
        doc: dict[str, Any] = await resp.json()
        return doc


def _router_operations(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method not in ("HEAD", "*")
    }


async def test_openapi_spec_validator_accepts_the_document(hub: RunningHub) -> None:
    doc = await _document(hub)
    assert doc["openapi"].startswith("3.1.")
    validate(doc)


async def test_every_api_route_is_described_and_nothing_else(hub: RunningHub) -> None:
    doc = await _document(hub)
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert described == _router_operations(hub.app)
    assert len(described) > 50


async def test_roles_are_the_use_case_table_s(hub: RunningHub) -> None:
    doc = await _document(hub)
    staff_only = 0
    for ops in doc["paths"].values():
        for op in ops.values():
            roles = [r for r in op["x-roles"] if r != "agency"]
            if "x-use-case" in op:
                assert roles == list(roles_of(op["x-use-case"])), op["operationId"]
                staff_only += "agency" not in op["x-roles"]
            schemes = {name for requirement in op["security"] for name in requirement}
            assert ("staffBearer" in schemes) == bool(roles), op["operationId"]
            assert ("agencySignature" in schemes) == ("agency" in op["x-roles"])
    assert staff_only > 40


async def test_every_error_is_problem_json_with_a_stable_type(hub: RunningHub) -> None:
    doc = await _document(hub)
    problem = doc["components"]["schemas"]["Problem"]
    assert problem["properties"]["type"]["enum"] == [PROBLEM_BASE + c for c in ErrorCode]
    for ops in doc["paths"].values():
        for op in ops.values():
            errors = {s: r for s, r in op["responses"].items() if s == "default" or s >= "400"}
            assert "default" in errors
            for response in errors.values():
                assert list(response["content"]) == [PROBLEM_CONTENT_TYPE]
            if "401" in errors:
                assert errors["401"]["headers"]["WWW-Authenticate"]["required"] is True


async def test_operation_ids_are_unique_and_each_has_a_summary(hub: RunningHub) -> None:
    doc = await _document(hub)
    ops = [op for ops in doc["paths"].values() for op in ops.values()]
    assert len({op["operationId"] for op in ops}) == len(ops)
    assert all(op["summary"] and op["tags"] for op in ops)


def test_a_route_that_declares_nothing_is_refused_by_the_generator() -> None:
    routes = web.RouteTableDef()

    @routes.get("/api/v1/undocumented")
    async def undocumented(_request: web.Request) -> web.Response:
        """Nothing declared."""
        return web.json_response({})

    app = web.Application()
    app.add_routes(routes)
    with pytest.raises(ValueError, match="GET /api/v1/undocumented is not documented"):
        openapi_document(app)

    documented()(undocumented)
    assert "/api/v1/undocumented" in openapi_document(app)["paths"]
