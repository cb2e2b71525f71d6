"""Sealed messages from agencies to the hub: research responses, action updates."""

from __future__ import annotations

from aiohttp import web

__all__ = ["routes"]

routes = web.RouteTableDef()
