"""Errors as RFC 9457 problem+json, and the request guards every route relies on."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hub.protocol.envelope import loads_strict
from hub.protocol.errors import PROBLEM_CONTENT_TYPE, HubError, ProtocolError, problem
from hub.service.appkeys import SETTINGS

__all__ = ["json_body", "problem_middleware", "problem_response"]

log = logging.getLogger("hub.service")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(error: HubError, instance: str | None = None) -> web.Response:
    """A problem+json response for ``error``."""
    doc = problem(error, instance=instance)
    return web.Response(
        status=doc["status"], text=json.dumps(doc), content_type=PROBLEM_CONTENT_TYPE
    )


_HTTP_CODES = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every error to problem+json; log the reason, never request content."""
    try:
        return await handler(request)
    except HubError as exc:
        log.info("%s %s -> %s", request.method, request.path, exc.code)
        return problem_response(exc, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "malformed")
        return problem_response(HubError(exc.reason, code=code), request.path)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return problem_response(HubError("internal error"), request.path)


async def json_body(request: web.Request) -> Any:
    """The request's JSON body: content type, size and strict syntax checked."""
    if request.content_type != "application/json":
        raise ProtocolError("send application/json", code="unsupported-media-type")
    limit: int = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ProtocolError(f"body is larger than {limit} bytes", code="payload-too-large")
    body = await read_body(request)
    return loads_strict(body)


async def read_body(request: web.Request) -> bytes:
    """The raw body, refusing more than the configured limit."""
    limit: int = request.app[SETTINGS].max_body_bytes
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ProtocolError(
            f"body is larger than {limit} bytes", code="payload-too-large"
        ) from None
