"""Routes for staff: agencies, users, notices, alerts, health."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select, text

from hub import agencies as agency_ops
from hub import users as user_ops
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE, TOKENS
from hub.service.auth import current_user, staff
from hub.service.problems import json_body
from hub.storage.tables import alerts

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database answers."""
    async with request.app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))
    return web.json_response({"status": "ready"})


def _fields(
    body: Any, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(body, dict) or not required <= set(body) <= required | optional:
        raise ProtocolError(f"send exactly {', '.join(sorted(required))}")
    if not all(isinstance(body[k], str) for k in required):
        raise ProtocolError("every field must be a string", code="wrong-type")
    return body


def _agency_json(agency: agency_ops.Agency) -> dict[str, Any]:
    return {
        "id": agency.id,
        "name": agency.name,
        "kind": agency.kind,
        "status": agency.status,
        "isp_version": agency.isp_version,
        "isp_signed_by": agency.isp_signed_by,
        "isp_signed_on": agency.isp_signed_on.isoformat(),
        "identity_fingerprint": agency.identity_fingerprint,
        "encryption_fingerprint": agency.encryption_fingerprint,
    }


@routes.get("/api/v1/agencies")
@staff("admin", "coordinator", "dpo")
async def list_agencies(request: web.Request) -> web.Response:
    """Every agency with status and fingerprints."""
    found = await agency_ops.list_agencies(request.app[ENGINE], datetime.now(UTC))
    return web.json_response({"agencies": [_agency_json(a) for a in found]})


@routes.post("/api/v1/agencies")
@staff("admin", "coordinator")
async def invite(request: web.Request) -> web.Response:
    """Invite an agency; the enrolment code is shown once."""
    body = _fields(
        await json_body(request),
        {"id", "name", "kind", "isp_version", "isp_signed_by", "isp_signed_on"},
    )
    try:
        signed_on = date.fromisoformat(body["isp_signed_on"])
    except ValueError:
        raise ProtocolError("isp_signed_on must be a date (YYYY-MM-DD)") from None
    code = await agency_ops.invite(
        request.app[ENGINE],
        agency_id=body["id"],
        name=body["name"],
        kind=body["kind"],
        isp_version=body["isp_version"],
        isp_signed_by=body["isp_signed_by"],
        isp_signed_on=signed_on,
        now=datetime.now(UTC),
    )
    return web.json_response({"agency_id": body["id"], "enrolment_code": code}, status=201)


@routes.post("/api/v1/agencies/{id}/approve")
@staff("admin", "coordinator")
async def approve(request: web.Request) -> web.Response:
    """Approve an enrolled agency after comparing its identity fingerprint."""
    body = _fields(await json_body(request), {"identity_fingerprint"})
    await agency_ops.approve(
        request.app[ENGINE],
        request.match_info["id"],
        body["identity_fingerprint"],
        by=current_user(request).name,
        now=datetime.now(UTC),
    )
    return web.json_response({"agency_id": request.match_info["id"], "status": "active"})


async def _set_status(request: web.Request, status: str) -> web.Response:
    await agency_ops.set_status(
        request.app[ENGINE], request.match_info["id"], status, now=datetime.now(UTC)
    )
    return web.json_response({"agency_id": request.match_info["id"], "status": status})


@routes.post("/api/v1/agencies/{id}/suspend")
@staff("admin", "coordinator")
async def suspend(request: web.Request) -> web.Response:
    """Suspend an agency: it receives nothing until reinstated."""
    return await _set_status(request, "suspended")


@routes.post("/api/v1/agencies/{id}/reinstate")
@staff("admin", "coordinator")
async def reinstate(request: web.Request) -> web.Response:
    """Reinstate a suspended agency."""
    return await _set_status(request, "active")


@routes.post("/api/v1/agencies/{id}/revoke")
@staff("admin", "coordinator")
async def revoke(request: web.Request) -> web.Response:
    """Revoke an agency and all its keys, for good."""
    return await _set_status(request, "revoked")


@routes.get("/api/v1/alerts")
@staff("admin", "coordinator")
async def list_alerts(request: web.Request) -> web.Response:
    """Open alerts for coordinators (expired envelopes, for now)."""
    async with request.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(alerts).where(alerts.c.resolved_at.is_(None)).order_by(alerts.c.id)
        )
        return web.json_response(
            {
                "alerts": [
                    {
                        "id": r.id,
                        "kind": r.kind,
                        "agency_id": r.agency_id,
                        "envelope_id": r.envelope_id,
                        "created_at": r.created_at.isoformat(),
                    }
                    for r in rows
                ]
            }
        )


@routes.get("/api/v1/users")
@staff("admin")
async def list_users(request: web.Request) -> web.Response:
    """Every member of staff."""
    found = await user_ops.list_users(request.app[ENGINE])
    return web.json_response(
        {
            "users": [
                {
                    "name": u.name,
                    "role": u.role,
                    "created_at": u.created_at.isoformat(),
                    "revoked": u.revoked_at is not None,
                }
                for u in found
            ]
        }
    )


@routes.post("/api/v1/users")
@staff("admin")
async def add_user(request: web.Request) -> web.Response:
    """Add a member of staff; their token is shown once."""
    body = _fields(await json_body(request), {"name", "role"})
    token = await user_ops.add_user(
        request.app[ENGINE], body["name"], body["role"], now=datetime.now(UTC)
    )
    return web.json_response(
        {"name": body["name"], "role": body["role"], "token": token}, status=201
    )


@routes.delete("/api/v1/users/{name}")
@staff("admin")
async def revoke_user(request: web.Request) -> web.Response:
    """Revoke a member of staff's token."""
    await user_ops.revoke_user(
        request.app[ENGINE], request.match_info["name"], now=datetime.now(UTC)
    )
    request.app[TOKENS].forget()
    return web.json_response({"name": request.match_info["name"], "revoked": True})
