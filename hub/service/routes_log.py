"""Routes of the disclosure log: signed heads, proofs, search and export."""

from __future__ import annotations

from aiohttp import web

__all__ = ["routes"]

routes = web.RouteTableDef()
