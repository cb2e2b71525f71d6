"""Routes for lawful bases, the ISP and the disclosure policy."""

from __future__ import annotations

from aiohttp import web

__all__ = ["routes"]

routes = web.RouteTableDef()
