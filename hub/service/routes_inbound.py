"""Sealed messages from agencies to the hub: research responses, action updates."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from hub.agencies import Agency
from hub.inbound import InboundContext
from hub.inbound.receive import receive
from hub.protocol.envelope import loads_strict, parse_envelope
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE, KEYS, SETTINGS
from hub.service.auth import agency_request

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/api/v1/messages")
@agency_request
async def messages(request: web.Request, agency: Agency, body: bytes) -> web.Response:
    """Receive ``{"envelope": ...}`` sealed to the hub: 202 when handled, 200 if already."""
    if request.content_type != "application/json":
        raise ProtocolError("send application/json", code="unsupported-media-type")
    doc = loads_strict(body)
    if not isinstance(doc, dict) or set(doc) != {"envelope"}:
        raise ProtocolError('send {"envelope": <sealed envelope>}', code="malformed")
    if not isinstance(doc["envelope"], dict):  # parse_envelope would read a str as JSON text
        raise ProtocolError("envelope must be a JSON object", code="wrong-type")
    envelope = parse_envelope(doc["envelope"])
    app, now = request.app, datetime.now(UTC)
    received = await receive(
        app[ENGINE],
        _context(app, now),
        hub_id=app[SETTINGS].hub_id,
        hub_key=app[KEYS].encryption,
        agency=agency,
        envelope=envelope,
        now=now,
    )
    return web.json_response(received.to_json(), status=200 if received.already else 202)


def _context(app: web.Application, now: datetime) -> InboundContext:
    """What handlers get as ``ctx``."""
    return InboundContext(app[KEYS], app[SETTINGS], now)
