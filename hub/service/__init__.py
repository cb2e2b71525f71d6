"""The hub's HTTP API (aiohttp routes under ``/api/v1``); ``hub.server`` serves it."""
