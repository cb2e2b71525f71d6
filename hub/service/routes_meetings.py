"""Routes for meetings, agendas, research, actions and minutes."""

from __future__ import annotations

from aiohttp import web

__all__ = ["routes"]

routes = web.RouteTableDef()
