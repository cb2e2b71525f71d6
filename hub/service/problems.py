"""Errors as RFC 9457 problem+json, and the request guards every route relies on.

Every error the hub answers is problem+json: a ``HubError`` or an aiohttp HTTP error in
a route (``problem_middleware``), and a request aiohttp cannot parse at all, such as an
over-long request line or header (``answer_unparsable_requests_as_problems``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from hub.http.security_headers import SERVER
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import PROBLEM_CONTENT_TYPE, HubError, ProtocolError, problem
from hub.service.appkeys import SETTINGS

__all__ = [
    "answer_unparsable_requests_as_problems",
    "json_body",
    "problem_middleware",
    "problem_response",
]

log = logging.getLogger("hub.service")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# RFC 9110 s.11.6.1: a 401 says how to authenticate. Agencies sign requests instead.
_SIGNED: Final = frozenset({"unknown-agency", "bad-signature", "replayed-request"})
_CHALLENGE_BEARER: Final = 'Bearer realm="marac-hub"'
_CHALLENGE_SIGNED: Final = 'MaracSignature realm="marac-hub"'


def problem_response(
    error: HubError, instance: str | None = None, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A problem+json response for ``error`` (a 401 with its ``WWW-Authenticate``)."""
    doc = problem(error, instance=instance)
    extra = dict(headers or {})
    if doc["status"] == 401:
        extra["WWW-Authenticate"] = (
            _CHALLENGE_SIGNED if error.code in _SIGNED else _CHALLENGE_BEARER
        )
    return web.Response(
        status=doc["status"],
        text=json.dumps(doc),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=extra,
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
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return problem_response(HubError(exc.reason, code=code), request.path, allow)
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
    doc = loads_strict(body)
    try:  # "\ud800" is valid JSON but no Unicode text: nothing downstream could store it
        json.dumps(doc, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ProtocolError(
            "strings must be Unicode text (a lone surrogate is not)", code="malformed-json"
        ) from None
    return doc


async def read_body(request: web.Request) -> bytes:
    """The raw body, refusing more than the configured limit."""
    limit: int = request.app[SETTINGS].max_body_bytes
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ProtocolError(
            f"body is larger than {limit} bytes", code="payload-too-large"
        ) from None


_LOW_LEVEL_CODES: Final = {400: "malformed", 413: "payload-too-large", 431: "malformed"}
_handle_error: Final = RequestHandler.handle_error


def _problem_for_unparsable(
    self: RequestHandler,
    request: Any,
    status: int = 500,
    exc: BaseException | None = None,
    message: str | None = None,
) -> web.StreamResponse:
    """``RequestHandler.handle_error`` (logs, then answers text/plain), answering
    problem+json instead. Its message may quote the request: it is not repeated."""
    answer = _handle_error(self, request, status, exc, message)
    code = _LOW_LEVEL_CODES.get(status, "hub-error")
    detail = "the request could not be read" if code != "hub-error" else "internal error"
    doc = problem(HubError(detail, code=code))
    response = web.Response(
        status=answer.status,
        text=json.dumps(doc),
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"Server": SERVER, "Cache-Control": "no-store"},  # no app to add them here
    )
    response.force_close()
    return response


def answer_unparsable_requests_as_problems() -> None:
    """Make aiohttp answer problem+json to a request it cannot parse (a request line or
    header over its limit, a bad method or version): it answers those itself, before any
    application or middleware sees them, and has no setting for the body. Idempotent."""
    RequestHandler.handle_error = _problem_for_unparsable  # type: ignore[method-assign]
