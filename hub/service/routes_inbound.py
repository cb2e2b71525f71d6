"""Sealed messages from agencies to the hub: research responses, action updates."""

from __future__ import annotations

from aiohttp import web

from hub.app.inbound import receive_message
from hub.app.mailbox import Agency
from hub.protocol.envelope import loads_strict, parse_envelope
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import RUNTIME
from hub.service.auth import agency_request
from hub.service.openapi import documented
from hub.service.openapi_models import MessageBody, MessageReceived

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/api/v1/messages")
@documented(MessageReceived, status=(202, 200), body=MessageBody)
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
    received = await receive_message(request.app[RUNTIME], agency, envelope)
    return web.json_response(received.to_json(), status=200 if received.already else 202)
