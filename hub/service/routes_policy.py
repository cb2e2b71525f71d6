"""Routes for lawful bases, the ISP and the disclosure policy."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from hub.app import policy as policy_app
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import RUNTIME
from hub.service.auth import actor, staff_for
from hub.service.openapi import documented
from hub.service.openapi_models import (
    BasesQuery,
    Basis,
    BasisBody,
    BasisList,
    ExplainQuery,
    Explanation,
    IspBody,
    IspOverview,
    IspSignatureBody,
    IspSigned,
    IspVersion,
    PolicyDocument,
    Retired,
)
from hub.service.problems import json_body

__all__ = ["routes"]

routes = web.RouteTableDef()


def _object(body: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProtocolError("send a JSON object")
    unknown = sorted(set(body) - required - optional)
    if unknown:
        raise ProtocolError(f"unexpected field {unknown[0][:40]!r}", code="unknown-field")
    missing = sorted(required - set(body))
    if missing:
        raise ProtocolError(f"missing {missing[0]}", code="missing-field")
    for key, value in body.items():
        if value is not None and not isinstance(value, str):
            raise ProtocolError(f"{key} must be a string", code="wrong-type")
    return body


@routes.get("/api/v1/bases")
@documented(BasisList, query=BasesQuery)
@staff_for("basis.list")
async def get_bases(request: web.Request) -> web.Response:
    """Current lawful bases (``?all=1``: retired ones too; ``?id=X``: every version of X)."""
    rt, who = request.app[RUNTIME], await actor(request)
    if "id" in request.query:
        found = await policy_app.lawful_basis(rt, who, request.query["id"][:64])
    else:
        found = await policy_app.lawful_bases(
            rt, who, include_retired=request.query.get("all") == "1"
        )
    return web.json_response({"bases": [b.to_json() for b in found]})


@routes.post("/api/v1/bases")
@documented(Basis, status=201, body=BasisBody)
@staff_for("basis.add")
async def post_basis(request: web.Request) -> web.Response:
    """Add a lawful basis, or a new version of an existing id (admins only)."""
    body = await json_body(request)
    basis = await policy_app.add_lawful_basis(request.app[RUNTIME], await actor(request), body)
    return web.json_response(basis.to_json(), status=201)


@routes.post("/api/v1/bases/{id}/retire")
@documented(Retired)
@staff_for("basis.retire")
async def post_retire(request: web.Request) -> web.Response:
    """Retire every version of a lawful basis: nothing relies on it any more."""
    basis_id = request.match_info["id"]
    count = await policy_app.retire_lawful_basis(
        request.app[RUNTIME], await actor(request), basis_id
    )
    return web.json_response({"id": basis_id, "retired_versions": count})


@routes.get("/api/v1/isp")
@documented(IspOverview)
@staff_for("isp.status")
async def get_isp(request: web.Request) -> web.Response:
    """The current ISP, every published version, and each agency's signature status."""
    found = await policy_app.isp_overview(request.app[RUNTIME], await actor(request))
    return web.json_response(
        {
            "current": found.current.to_json() if found.current else None,
            "versions": [v.to_json() for v in found.versions],
            "agencies": [
                {
                    "id": s.agency_id,
                    "kind": s.kind,
                    "status": s.status,
                    "signed_version": s.signed_version,
                    "signed_on": s.signed_on.isoformat(),
                    "current": s.current,
                }
                for s in found.agencies
            ],
        }
    )


@routes.post("/api/v1/isp")
@documented(IspVersion, status=201, body=IspBody)
@staff_for("isp.publish")
async def post_isp(request: web.Request) -> web.Response:
    """Publish a new ISP version; it becomes current at once (admins only)."""
    body = _object(await json_body(request), {"version", "title"}, {"document_sha256"})
    published = await policy_app.publish(
        request.app[RUNTIME],
        await actor(request),
        body["version"],
        body["title"],
        body.get("document_sha256"),
    )
    return web.json_response(published.to_json(), status=201)


@routes.post("/api/v1/agencies/{id}/isp")
@documented(IspSigned, status=201, body=IspSignatureBody)
@staff_for("isp.sign")
async def post_signature(request: web.Request) -> web.Response:
    """Record that an agency signed an ISP version (default: signed today)."""
    body = _object(await json_body(request), {"version", "signed_by"}, {"signed_on"})
    try:
        signed_on = date.fromisoformat(body["signed_on"]) if body.get("signed_on") else None
    except ValueError:
        raise ProtocolError("signed_on must be a date (YYYY-MM-DD)") from None
    signature = await policy_app.sign(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        version=body["version"],
        signed_by=body["signed_by"],
        signed_on=signed_on,
    )
    return web.json_response(
        {
            "agency_id": signature.agency_id,
            "version": signature.version,
            "signed_on": signature.signed_on.isoformat(),
        },
        status=201,
    )


@routes.get("/api/v1/policy")
@documented(PolicyDocument)
@staff_for("policy.show")
async def get_policy(request: web.Request) -> web.Response:
    """The disclosure policy in force: its version and rules."""
    return web.json_response(
        await policy_app.show_policy(request.app[RUNTIME], await actor(request))
    )


@routes.get("/api/v1/policy/explain")
@documented(Explanation, query=ExplainQuery)
@staff_for("policy.explain")
async def get_explain(request: web.Request) -> web.Response:
    """What ``purpose`` would carry to an agency of ``kind``, field by field, and why."""
    restricted = request.query.get("restricted", "0")
    if restricted not in ("0", "1", "true", "false"):
        raise ProtocolError("restricted must be 0 or 1")
    return web.json_response(
        await policy_app.explain_policy(
            request.app[RUNTIME],
            await actor(request),
            purpose=request.query.get("purpose", ""),
            kind=request.query.get("kind", ""),
            restricted=restricted in ("1", "true"),
        )
    )
