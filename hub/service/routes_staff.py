"""Routes for staff: agencies, users, notices, alerts, health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from hub.app import Actor, Runtime
from hub.app import agencies as agency_app
from hub.app import tokens as token_app
from hub.app import users as user_app
from hub.app.health import database_answers
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import RUNTIME, TOKENS
from hub.service.auth import actor, staff_for
from hub.service.openapi import documented
from hub.service.openapi_models import (
    AgencyList,
    AgencyStatus,
    AlertList,
    Approval,
    Invitation,
    Invited,
    NewToken,
    NewTokenBody,
    NewUser,
    NewUserBody,
    TokenList,
    TokensRevoked,
    UserList,
    UserRevoked,
)
from hub.service.problems import json_body

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database answers."""
    await database_answers(request.app[RUNTIME])
    return web.json_response({"status": "ready"})


def _fields(
    body: Any, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(body, dict) or not required <= set(body) <= required | optional:
        raise ProtocolError(f"send exactly {', '.join(sorted(required))}")
    if not all(isinstance(body[k], str) for k in required):
        raise ProtocolError("every field must be a string", code="wrong-type")
    return body


def _agency_json(agency: agency_app.Agency, areas: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": agency.id,
        "name": agency.name,
        "kind": agency.kind,
        "status": agency.status,
        "areas": list(areas),
        "isp_version": agency.isp_version,
        "isp_signed_by": agency.isp_signed_by,
        "isp_signed_on": agency.isp_signed_on.isoformat(),
        "identity_fingerprint": agency.identity_fingerprint,
        "encryption_fingerprint": agency.encryption_fingerprint,
    }


@routes.get("/api/v1/agencies")
@documented(AgencyList)
@staff_for("agency.list")
async def list_agencies(request: web.Request) -> web.Response:
    """The agencies (a coordinator's: those serving their areas), status and fingerprints."""
    found = await agency_app.list_agencies(request.app[RUNTIME], await actor(request))
    return web.json_response(
        {"agencies": [_agency_json(a, found.areas[a.id]) for a in found.agencies]}
    )


@routes.post("/api/v1/agencies")
@documented(Invited, status=201, body=Invitation)
@staff_for("agency.invite")
async def invite(request: web.Request) -> web.Response:
    """Invite an agency into ``areas`` (a coordinator: some of theirs); the enrolment code
    is shown once."""
    body = _fields(
        await json_body(request),
        {"id", "name", "kind", "isp_version", "isp_signed_by", "isp_signed_on"},
        frozenset({"areas"}),
    )
    try:
        signed_on = date.fromisoformat(body["isp_signed_on"])
    except ValueError:
        raise ProtocolError("isp_signed_on must be a date (YYYY-MM-DD)") from None
    code = await agency_app.invite_agency(
        request.app[RUNTIME],
        await actor(request),
        agency_id=body["id"],
        name=body["name"],
        kind=body["kind"],
        isp_version=body["isp_version"],
        isp_signed_by=body["isp_signed_by"],
        isp_signed_on=signed_on,
        areas=body.get("areas", []),
    )
    return web.json_response({"agency_id": body["id"], "enrolment_code": code}, status=201)


@routes.post("/api/v1/agencies/{id}/approve")
@documented(AgencyStatus, body=Approval)
@staff_for("agency.approve")
async def approve(request: web.Request) -> web.Response:
    """Approve an enrolled agency after comparing its identity fingerprint."""
    body = _fields(await json_body(request), {"identity_fingerprint"})
    await agency_app.approve_agency(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        body["identity_fingerprint"],
    )
    return web.json_response({"agency_id": request.match_info["id"], "status": "active"})


async def _set_status(
    request: web.Request, change: Callable[[Runtime, Actor, str], Awaitable[None]], status: str
) -> web.Response:
    await change(request.app[RUNTIME], await actor(request), request.match_info["id"])
    return web.json_response({"agency_id": request.match_info["id"], "status": status})


@routes.post("/api/v1/agencies/{id}/suspend")
@documented(AgencyStatus)
@staff_for("agency.suspend")
async def suspend(request: web.Request) -> web.Response:
    """Suspend an agency: it receives nothing, from any area, until reinstated."""
    return await _set_status(request, agency_app.suspend_agency, "suspended")


@routes.post("/api/v1/agencies/{id}/reinstate")
@documented(AgencyStatus)
@staff_for("agency.reinstate")
async def reinstate(request: web.Request) -> web.Response:
    """Reinstate a suspended agency (a coordinator: of every area it serves)."""
    return await _set_status(request, agency_app.reinstate_agency, "active")


@routes.post("/api/v1/agencies/{id}/revoke")
@documented(AgencyStatus)
@staff_for("agency.revoke")
async def revoke(request: web.Request) -> web.Response:
    """Revoke an agency and all its keys, for good (admins only)."""
    return await _set_status(request, agency_app.revoke_agency, "revoked")


@routes.get("/api/v1/alerts")
@documented(AlertList)
@staff_for("alert.list")
async def list_alerts(request: web.Request) -> web.Response:
    """Open alerts (expired envelopes, for now): a coordinator's, about the agencies
    serving their areas."""
    found = await agency_app.open_alerts(request.app[RUNTIME], await actor(request))
    return web.json_response(
        {
            "alerts": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "agency_id": a.agency_id,
                    "envelope_id": a.envelope_id,
                    "created_at": a.created_at.isoformat(),
                }
                for a in found
            ]
        }
    )


@routes.get("/api/v1/users")
@documented(UserList)
@staff_for("user.list")
async def list_users(request: web.Request) -> web.Response:
    """Every member of staff."""
    found = await user_app.list_users(request.app[RUNTIME], await actor(request))
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
@documented(NewUser, status=201, body=NewUserBody)
@staff_for("user.add")
async def add_user(request: web.Request) -> web.Response:
    """Add a member of staff; their token is shown once."""
    body = _fields(await json_body(request), {"name", "role"})
    token = await user_app.add_user(
        request.app[RUNTIME], await actor(request), body["name"], body["role"]
    )
    return web.json_response(
        {"name": body["name"], "role": body["role"], "token": token}, status=201
    )


@routes.delete("/api/v1/users/{name}")
@documented(UserRevoked)
@staff_for("user.revoke")
async def revoke_user(request: web.Request) -> web.Response:
    """Revoke a member of staff's token."""
    await user_app.revoke_user(
        request.app[RUNTIME], await actor(request), request.match_info["name"]
    )
    request.app[TOKENS].forget()
    return web.json_response({"name": request.match_info["name"], "revoked": True})


def _expiry(body: dict[str, Any]) -> datetime | None:
    days, on = body.get("expires_in_days"), body.get("expires_on")
    if days is not None and on is not None:
        raise ProtocolError("send expires_in_days or expires_on, not both")
    if days is not None:
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
            raise ProtocolError("expires_in_days is a whole number from 1 to 366")
        return datetime.now(UTC) + timedelta(days=days)
    if on is not None:
        try:
            return datetime.combine(date.fromisoformat(on), time(), UTC)
        except (TypeError, ValueError):
            raise ProtocolError("expires_on must be a date (YYYY-MM-DD)") from None
    return None


@routes.get("/api/v1/users/{name}/tokens")
@documented(TokenList)
@staff_for("token.list")
async def list_tokens(request: web.Request) -> web.Response:
    """A member of staff's API tokens, never their secrets (admins: anyone's; others:
    their own)."""
    found = await token_app.list_user_tokens(
        request.app[RUNTIME], await actor(request), request.match_info["name"]
    )
    now = datetime.now(UTC)
    return web.json_response({"tokens": [t.as_json(now) for t in found]})


@routes.post("/api/v1/users/{name}/tokens")
@documented(NewToken, status=201, body=NewTokenBody)
@staff_for("token.new")
async def new_token(request: web.Request) -> web.Response:
    """Make an API token for a member of staff (admins only); its secret is shown once.
    It expires (default: in 90 days) and may be narrowed to a role and some areas."""
    body = await json_body(request)
    known = {"expires_in_days", "expires_on", "role", "areas", "label"}
    if not isinstance(body, dict) or not set(body) <= known:
        raise ProtocolError(f"send only {', '.join(sorted(known))}")
    name = request.match_info["name"]
    issued = await token_app.new_token(
        request.app[RUNTIME],
        await actor(request),
        name,
        expires_at=_expiry(body),
        role=body.get("role"),
        areas=body.get("areas"),
        label=body.get("label"),
    )
    return web.json_response(
        {
            "user": name,
            "id": issued.id,
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat(),
        },
        status=201,
    )


@routes.delete("/api/v1/users/{name}/tokens/{id}")
@documented(TokensRevoked)
@staff_for("token.revoke")
async def revoke_token(request: web.Request) -> web.Response:
    """Revoke one API token (admins: anyone's; others: their own); every hub process
    refuses it from now on."""
    name = request.match_info["name"]
    count = await token_app.revoke_user_tokens(
        request.app[RUNTIME], await actor(request), name, request.match_info["id"]
    )
    return web.json_response({"user": name, "revoked": count})


@routes.delete("/api/v1/users/{name}/tokens")
@documented(TokensRevoked)
@staff_for("token.revoke")
async def revoke_tokens(request: web.Request) -> web.Response:
    """Revoke every API token of a member of staff (admins: anyone's; others: their
    own), this request's own included if it is theirs."""
    name = request.match_info["name"]
    count = await token_app.revoke_user_tokens(request.app[RUNTIME], await actor(request), name)
    return web.json_response({"user": name, "revoked": count})
