"""Each request observed: its id, one access log line, and the HTTP metrics.

The access line (logger ``hub.access``) names the route's template, never the concrete
path or query (which can hold a case reference or a search for a person), the status,
the duration and the caller's role (``admin``, ``coordinator``, ``dpo``, ``agency``, or
``anonymous``), never a name or a token. The doors say the role with :func:`note_role`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from hub.http.metrics import HTTP_METRICS, METHODS
from hub.http.request_ids import HEADER, RequestInfo, request_id_for, request_scope

__all__ = ["note_role", "observe_requests", "route_of", "setup_request_log"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROLE = web.RequestKey("actor_role", str)
REQUEST_ID = web.RequestKey("request_id", str)
CLIENT_CLOSED = 499  # the caller went away before the answer (nginx's code)
access = logging.getLogger("hub.access")


def note_role(request: web.Request, role: str) -> None:
    """Record the caller's role (a role, never a name) for the access line."""
    request[ROLE] = role


def route_of(request: web.Request) -> str:
    """The matched route's template (``/api/v1/cases/{ref}``), or ``unmatched``."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id, then log and count it once it is answered."""
    request_id = request_id_for(request.headers.get(HEADER))
    request[REQUEST_ID] = request_id
    route = route_of(request)
    started = time.perf_counter()
    status = 500
    with request_scope(RequestInfo(request_id, request.path, route)):
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            seconds = time.perf_counter() - started
            method = request.method if request.method in METHODS else "OTHER"
            role = request.get(ROLE, "anonymous")
            if HTTP_METRICS in request.app:
                request.app[HTTP_METRICS].observe(method, route, status, seconds)
            access.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s -> %d in %.1f ms as %s",
                method,
                route,
                status,
                seconds * 1000,
                role,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "role": role,
                },
            )


async def _add_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers[HEADER] = request_id


def setup_request_log(app: web.Application) -> None:
    """Return each request's id in the ``X-Request-Id`` header of whatever answers it
    (handlers' responses, streamed exports and redirects alike)."""
    app.on_response_prepare.append(_add_request_id)
