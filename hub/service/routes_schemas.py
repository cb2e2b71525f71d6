"""Published schemas: the JSON Schema of the ``pole`` format, for integrators.

Public (no authentication): a schema holds no data, and a police force's integrator
needs it before its system can accept anything from the hub.
"""

from __future__ import annotations

from aiohttp import web

from hub.app.mailbox import pole_schema_bytes
from hub.service.openapi import documented
from hub.service.openapi_models import PoleSchema

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/api/v1/schemas/pole.json")
@documented(PoleSchema, media="application/schema+json")
async def pole_schema(_request: web.Request) -> web.Response:
    """The POLE document schema (JSON Schema draft 2020-12), as shipped with the hub."""
    return web.Response(
        body=pole_schema_bytes(),
        content_type="application/schema+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )
