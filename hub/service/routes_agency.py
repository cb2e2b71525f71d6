"""Routes an agency's client calls: hub info, enrolment, mailbox, receipts, keys."""

from __future__ import annotations

import time

from aiohttp import web

from hub.app.mailbox import (
    Agency,
    Nonce,
    acknowledge,
    enrol,
    look,
    parse_receipts,
    public_info,
    register_key,
    wait_for_event,
)
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import CHECKER, RUNTIME, SETTINGS, WAITERS
from hub.service.auth import NONCE, agency_request, keeps_nonce
from hub.service.openapi import documented
from hub.service.openapi_models import (
    Acknowledged,
    Enrolled,
    EnrolmentBody,
    Envelopes,
    HubInfo,
    KeyRegistered,
    MailboxQuery,
    ReceiptsBody,
    SignedAnnouncement,
)
from hub.service.problems import json_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_MAX_RECEIPTS = 1000
MAX_LEASE_SECONDS = 600


@routes.get("/api/v1/hub")
@documented(HubInfo)
async def hub_info(request: web.Request) -> web.Response:
    """The hub's identity key, which clients pin at enrolment, and its encryption key,
    announced (signed) by the identity key: what agencies seal their messages to."""
    return web.json_response(public_info(request.app[RUNTIME]))


@routes.post("/api/v1/enrol")
@documented(Enrolled, status=201, body=EnrolmentBody)
async def enrol_agency(request: web.Request) -> web.Response:
    """Consume an enrolment code with the agency's signed first key."""
    body = await json_body(request)
    if (
        not isinstance(body, dict)
        or set(body) != {"code", "announcement"}
        or not isinstance(body["code"], str)
        or len(body["code"]) > 200
    ):
        raise ProtocolError("send code and announcement")
    enrolled = await enrol(request.app[RUNTIME], body["code"], body["announcement"])
    return web.json_response(status=201, data=enrolled)


def _number(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    """A numeric query parameter, capped at ``high``; below ``low`` or not a number is refused."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ProtocolError(f"{name} must be a number") from None
    if not low <= value:  # also refuses NaN, which fails every comparison
        raise ProtocolError(f"{name} must be at least {low:g}")
    return min(value, high)


@routes.get("/api/v1/mailbox")
@documented(Envelopes, query=MailboxQuery)
@agency_request
@keeps_nonce
async def mailbox(request: web.Request, agency: Agency, _body: bytes) -> web.Response:
    """Queued envelopes for the calling agency, waiting up to ``wait`` seconds for one.

    ``lease`` (seconds, default 0) claims what is handed out: no other poll, in this
    process or another, gets those envelopes until the lease ends or they are
    acknowledged. The first look shares one transaction with the request's nonce.
    """
    settings = request.app[SETTINGS]
    wait = _number(request, "wait", 0, 0, settings.max_wait_seconds)
    limit = int(_number(request, "limit", settings.batch_size, 1, settings.batch_size))
    lease = _number(request, "lease", 0, 0, MAX_LEASE_SECONDS)
    rt, waiters = request.app[RUNTIME], request.app[WAITERS]
    deadline = time.monotonic() + wait
    nonce: Nonce | None = request[NONCE]
    with waiters.subscription(agency.id) as woken:
        while True:
            woken.clear()  # before looking: a notification during the look is kept
            batch = await look(rt, agency.id, limit, lease=lease, nonce=nonce)
            nonce = None  # kept with the first look
            left = deadline - time.monotonic()
            if batch or left <= 0:
                break
            await wait_for_event(woken, min(left, waiters.recheck))
    body = b'{"envelopes":[' + b",".join(batch) + b"]}"
    return web.Response(body=body, content_type="application/json")


@routes.post("/api/v1/receipts")
@documented(Acknowledged, body=ReceiptsBody)
@agency_request
@keeps_nonce
async def receipts(request: web.Request, agency: Agency, body: bytes) -> web.Response:
    """Store a batch of signed receipts, all or nothing."""
    if request.content_type != "application/json":
        raise ProtocolError("send application/json", code="unsupported-media-type")
    doc = loads_strict(body)
    if (
        not isinstance(doc, dict)
        or set(doc) != {"receipts"}
        or not isinstance(doc["receipts"], list)
    ):
        raise ProtocolError('send {"receipts": [...]}', code="bad-receipt")
    if not 0 < len(doc["receipts"]) <= _MAX_RECEIPTS:
        raise ProtocolError(f"send 1 to {_MAX_RECEIPTS} receipts", code="bad-receipt")
    result = await acknowledge(
        request.app[RUNTIME],
        agency,
        parse_receipts(doc["receipts"]),
        nonce=request[NONCE],
        checker=request.app.get(CHECKER),
    )
    return web.json_response({"acknowledged": result.acknowledged, "already": result.already})


@routes.post("/api/v1/keys")
@documented(KeyRegistered, status=201, body=SignedAnnouncement)
@agency_request
async def keys(request: web.Request, agency: Agency, body: bytes) -> web.Response:
    """Register a rotated encryption key, signed by the agency's identity key."""
    if request.content_type != "application/json":
        raise ProtocolError("send application/json", code="unsupported-media-type")
    fingerprint = await register_key(request.app[RUNTIME], agency, loads_strict(body))
    return web.json_response({"fingerprint": fingerprint}, status=201)
