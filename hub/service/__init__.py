"""The hub's HTTP service (aiohttp)."""

from hub.service.app import create_app

__all__ = ["create_app"]
