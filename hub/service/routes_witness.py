"""Routes of the log's checkpoints and witnesses (``hub.app.witness``).

* ``GET /api/v1/log/checkpoint``: the newest checkpoint as a C2SP signed note
  (``text/plain; charset=utf-8``), with every stored cosignature: any tlog tool reads it.
  Agencies (signed request), the DPO and the admin.
* ``POST /api/v1/log/cosignatures``: an agency's cosignature of a checkpoint.
* ``POST /api/v1/log/witness-alarms``: an agency reports a checkpoint it refused.
* ``GET /api/v1/log/witnesses``: the witnesses, the quorum, the alarms (DPO, admin).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from hub.app import witness as witness_app
from hub.app.agencies import Agency
from hub.app.catalogue import roles_of
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import RUNTIME
from hub.service.auth import (
    RouteHandler,
    actor,
    agency_or_staff,
    agency_request,
    staff_for,
)
from hub.service.openapi import documented
from hub.service.openapi_models import (
    CosignatureBody,
    CosignatureStored,
    WitnessAlarmBody,
    WitnessAlarmStored,
    Witnesses,
)

__all__ = ["routes"]

routes = web.RouteTableDef()


def _names(use_case: str) -> Callable[[RouteHandler], RouteHandler]:
    """Name the use-case a route open to agencies and staff calls for staff."""

    def decorate(handler: RouteHandler) -> RouteHandler:
        handler.use_case = use_case  # type: ignore[attr-defined]
        return handler

    return decorate


def _object(request: web.Request, body: bytes) -> dict[str, object]:
    if request.content_type != "application/json":
        raise ProtocolError("send application/json", code="unsupported-media-type")
    doc = loads_strict(body)
    if not isinstance(doc, dict):
        raise ProtocolError("the body must be a JSON object", code="wrong-type")
    return doc


@routes.get("/api/v1/log/checkpoint")
@documented(media="text/plain")
@_names("log.checkpoint")
@agency_or_staff(*roles_of("log.checkpoint"))
async def checkpoint(request: web.Request, agency: Agency | None) -> web.Response:
    """The newest checkpoint (C2SP tlog-checkpoint signed note) with its cosignatures."""
    rt = request.app[RUNTIME]
    if agency is not None:
        note = await witness_app.agency_checkpoint(rt)
    else:
        note = await witness_app.log_checkpoint(rt, await actor(request))
    return web.Response(text=note, content_type="text/plain", charset="utf-8")


@routes.post("/api/v1/log/cosignatures")
@documented(CosignatureStored, status=(200, 201), body=CosignatureBody)
@agency_request
async def cosignatures(request: web.Request, agency: Agency, body: bytes) -> web.Response:
    """Store the agency's cosignature of a checkpoint the hub signed, once it verifies."""
    done = await witness_app.agency_cosign(request.app[RUNTIME], agency, _object(request, body))
    return web.json_response(
        {"size": done.size, "witness": done.witness, "stored": done.stored},
        status=201 if done.stored else 200,
    )


@routes.post("/api/v1/log/witness-alarms")
@documented(WitnessAlarmStored, status=201, body=WitnessAlarmBody)
@agency_request
async def witness_alarms(request: web.Request, agency: Agency, body: bytes) -> web.Response:
    """Report a checkpoint the agency refused to cosign (a fork or a rollback)."""
    alarm = await witness_app.agency_witness_alarm(
        request.app[RUNTIME], agency, _object(request, body)
    )
    return web.json_response({"id": alarm}, status=201)


@routes.get("/api/v1/log/witnesses")
@documented(Witnesses)
@staff_for("log.witnesses")
async def witnesses(request: web.Request) -> web.Response:
    """The log's witnesses, their newest cosignatures, the quorum and the alarms."""
    status = await witness_app.witness_status(request.app[RUNTIME], await actor(request))
    return web.json_response(status.to_json())
