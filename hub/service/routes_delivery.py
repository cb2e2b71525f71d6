"""Each agency's transport and format (``/api/v1/agencies/{id}/delivery``); a change wakes
the push dispatcher (``hub.server`` runs it)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.app import agencies as agency_app
from hub.http.appkeys import DISPATCHER, RUNTIME
from hub.protocol.errors import ProtocolError
from hub.service.auth import actor, staff_for
from hub.service.openapi import documented
from hub.service.openapi_models import Delivery, DeliveryBody
from hub.service.problems import json_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_NAME_LIMIT = 64


def _delivery_body(body: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(body, dict) or not {"transport", "format"} <= set(body) <= {
        "transport",
        "format",
        "config",
    }:
        raise ProtocolError("send transport, format and (if the transport takes any) config")
    transport, fmt, config = body["transport"], body["format"], body.get("config", {})
    if not all(isinstance(v, str) and 0 < len(v) <= _NAME_LIMIT for v in (transport, fmt)):
        raise ProtocolError("transport and format must be short names", code="wrong-type")
    if not isinstance(config, dict):
        raise ProtocolError("config must be a JSON object", code="wrong-type")
    return transport, fmt, config


@routes.get("/api/v1/agencies/{id}/delivery")
@documented(Delivery)
@staff_for("agency.delivery.show")
async def get_delivery(request: web.Request) -> web.Response:
    """The agency's transport, format and settings (secrets shown as ``***``)."""
    chosen = await agency_app.show_delivery(
        request.app[RUNTIME], await actor(request), request.match_info["id"]
    )
    return web.json_response(chosen.to_json())


@routes.put("/api/v1/agencies/{id}/delivery")
@documented(Delivery, body=DeliveryBody)
@staff_for("agency.delivery.set")
async def put_delivery(request: web.Request) -> web.Response:
    """Choose the agency's transport and format; the transport checks its settings."""
    transport, fmt, config = _delivery_body(await json_body(request))
    chosen = await agency_app.set_delivery(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        transport=transport,
        format=fmt,
        config=config,
    )
    if DISPATCHER in request.app:
        request.app[DISPATCHER].wake()
    return web.json_response(chosen.to_json())
