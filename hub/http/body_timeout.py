"""A time limit on receiving a request's body (``body_read_seconds``).

aiohttp waits for a body as long as the client keeps the connection open, so a client
that announces a large body and trickles it holds a connection (and a handler) forever.
This middleware reads the whole body first, within the limit, and caches it (a form is
parsed, anything else read as bytes); too slow, and the answer is a 408 problem and the
connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.http.appkeys import SETTINGS
from hub.protocol.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE, ProtocolError

__all__ = ["body_timeout_middleware"]

log = logging.getLogger("hub.http")
_FORMS: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def body_timeout_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Receive the body within ``body_read_seconds`` or answer 408 and close."""
    if request.body_exists:
        limit: float = request.app[SETTINGS].body_read_seconds
        try:
            async with asyncio.timeout(limit):
                if request.content_type in _FORMS and request.method in request.POST_METHODS:
                    await request.post()
                else:
                    await request.read()
        except TimeoutError:
            log.info("%s %s -> body not received in %g s", request.method, request.path, limit)
            return _too_slow(request.path, limit)
        except web.HTTPRequestEntityTooLarge:
            most = request.app[SETTINGS].max_body_bytes
            raise ProtocolError(
                f"body is larger than {most} bytes", code="payload-too-large"
            ) from None
    return await handler(request)


def _too_slow(path: str, limit: float) -> web.Response:
    doc = {
        "type": PROBLEM_BASE + "malformed",
        "title": "Request Timeout",
        "status": 408,
        "detail": f"the request body did not arrive within {limit:g} seconds",
        "instance": path,
    }
    response = web.Response(status=408, text=json.dumps(doc), content_type=PROBLEM_CONTENT_TYPE)
    response.force_close()
    return response
