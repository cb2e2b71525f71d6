"""Each agency's transport and format (``/api/v1/agencies/{id}/delivery``), and the push
dispatcher's place in the application's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub.adapters.registry import default_registry
from hub.app import agencies as agency_app
from hub.delivery.push import Dispatcher, PushSettings
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE, KEYS, RUNTIME, SETTINGS
from hub.service.auth import actor, staff_for
from hub.service.problems import json_body

__all__ = ["DISPATCHER", "push_dispatcher", "routes"]

routes = web.RouteTableDef()
DISPATCHER = web.AppKey("push_dispatcher", Dispatcher)
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
@staff_for("agency.delivery.show")
async def get_delivery(request: web.Request) -> web.Response:
    """The agency's transport, format and settings (secrets shown as ``***``)."""
    chosen = await agency_app.show_delivery(
        request.app[RUNTIME], await actor(request), request.match_info["id"]
    )
    return web.json_response(chosen.to_json())


@routes.put("/api/v1/agencies/{id}/delivery")
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


async def push_dispatcher(app: web.Application) -> AsyncIterator[None]:
    """Run the push dispatcher (:mod:`hub.delivery.push`) while the application runs."""
    settings = app[SETTINGS]
    dispatcher = Dispatcher(
        app[ENGINE],
        app[KEYS],
        settings.hub_id,
        default_registry(),
        PushSettings.from_settings(settings),
    )
    app[DISPATCHER] = dispatcher
    task = asyncio.create_task(dispatcher.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
