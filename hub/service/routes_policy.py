"""Routes for lawful bases, the ISP and the disclosure policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from hub.agencies import KINDS
from hub.policy.bases import (
    add_basis,
    basis_history,
    current_basis,
    list_bases,
    parse_basis_spec,
    retire_basis,
)
from hub.policy.decide import explain
from hub.policy.fields import PURPOSES
from hub.policy.isp import isp_status, list_isp_versions, publish_isp, sign_isp
from hub.protocol.errors import HubError, ProtocolError
from hub.service.appkeys import ENGINE, POLICY
from hub.service.auth import current_user, staff
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
@staff("admin", "coordinator", "dpo")
async def get_bases(request: web.Request) -> web.Response:
    """Current lawful bases (``?all=1``: retired ones too; ``?id=X``: every version of X)."""
    async with request.app[ENGINE].connect() as conn:
        if "id" in request.query:
            found = await basis_history(conn, request.query["id"][:64])
            if not found:
                raise HubError("no such lawful basis", code="not-found")
        else:
            found = await list_bases(conn, include_retired=request.query.get("all") == "1")
    return web.json_response({"bases": [b.to_json() for b in found]})


@routes.post("/api/v1/bases")
@staff("admin", "coordinator")
async def post_basis(request: web.Request) -> web.Response:
    """Add a lawful basis, or a new version of an existing id."""
    spec = parse_basis_spec(await json_body(request))
    async with request.app[ENGINE].begin() as conn:
        basis = await add_basis(conn, spec, by=current_user(request).name, now=datetime.now(UTC))
    return web.json_response(basis.to_json(), status=201)


@routes.post("/api/v1/bases/{id}/retire")
@staff("admin", "coordinator")
async def post_retire(request: web.Request) -> web.Response:
    """Retire every version of a lawful basis: nothing relies on it any more."""
    basis_id = request.match_info["id"]
    async with request.app[ENGINE].begin() as conn:
        count = await retire_basis(
            conn, basis_id, by=current_user(request).name, now=datetime.now(UTC)
        )
    return web.json_response({"id": basis_id, "retired_versions": count})


@routes.get("/api/v1/isp")
@staff("admin", "coordinator", "dpo")
async def get_isp(request: web.Request) -> web.Response:
    """The current ISP, every published version, and each agency's signature status."""
    async with request.app[ENGINE].connect() as conn:
        current, status = await isp_status(conn)
        versions = await list_isp_versions(conn)
    return web.json_response(
        {
            "current": current.to_json() if current else None,
            "versions": [v.to_json() for v in versions],
            "agencies": [
                {
                    "id": s.agency_id,
                    "kind": s.kind,
                    "status": s.status,
                    "signed_version": s.signed_version,
                    "signed_on": s.signed_on.isoformat(),
                    "current": s.current,
                }
                for s in status
            ],
        }
    )


@routes.post("/api/v1/isp")
@staff("admin", "coordinator")
async def post_isp(request: web.Request) -> web.Response:
    """Publish a new ISP version; it becomes current at once."""
    body = _object(await json_body(request), {"version", "title"}, {"document_sha256"})
    async with request.app[ENGINE].begin() as conn:
        published = await publish_isp(
            conn,
            version=body["version"],
            title=body["title"],
            document_sha256=body.get("document_sha256"),
            by=current_user(request).name,
            now=datetime.now(UTC),
        )
    return web.json_response(published.to_json(), status=201)


@routes.post("/api/v1/agencies/{id}/isp")
@staff("admin", "coordinator")
async def post_signature(request: web.Request) -> web.Response:
    """Record that an agency signed an ISP version (default: signed today)."""
    body = _object(await json_body(request), {"version", "signed_by"}, {"signed_on"})
    now = datetime.now(UTC)
    try:
        signed_on = date.fromisoformat(body["signed_on"]) if body.get("signed_on") else now.date()
    except ValueError:
        raise ProtocolError("signed_on must be a date (YYYY-MM-DD)") from None
    async with request.app[ENGINE].begin() as conn:
        signature = await sign_isp(
            conn,
            request.match_info["id"],
            version=body["version"],
            signed_by=body["signed_by"],
            signed_on=signed_on,
            recorded_by=current_user(request).name,
            now=now,
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
@staff("admin", "coordinator", "dpo")
async def get_policy(request: web.Request) -> web.Response:
    """The disclosure policy in force: its version and rules."""
    return web.json_response(request.app[POLICY].to_json())


@routes.get("/api/v1/policy/explain")
@staff("admin", "coordinator", "dpo")
async def get_explain(request: web.Request) -> web.Response:
    """What ``purpose`` would carry to an agency of ``kind``, field by field, and why."""
    purpose = request.query.get("purpose", "")
    kind = request.query.get("kind", "")
    restricted = request.query.get("restricted", "0")
    if purpose not in PURPOSES:
        raise ProtocolError(f"purpose must be one of {', '.join(PURPOSES)}")
    if kind not in KINDS:
        raise ProtocolError(f"kind must be one of {', '.join(KINDS)}")
    if restricted not in ("0", "1", "true", "false"):
        raise ProtocolError("restricted must be 0 or 1")
    policy = request.app[POLICY]
    rule = policy.rule(purpose, kind)
    async with request.app[ENGINE].connect() as conn:
        basis = await current_basis(conn, rule.basis) if rule else None
    return web.json_response(
        explain(policy, basis, purpose=purpose, kind=kind, restricted=restricted in ("1", "true"))
    )
