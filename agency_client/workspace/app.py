"""The workspace's aiohttp application, its security middleware and :func:`serve`.

Every answer carries a strict Content-Security-Policy (no script at all), ``no-store``,
``no-referrer`` and ``nosniff``. A request is refused unless its Host is this server's
own ``127.0.0.1:PORT`` or ``localhost:PORT`` (a DNS-rebinding page cannot reach it);
without the session cookie only ``/open`` answers; every POST must carry the session's
CSRF token (and an Origin, if any, of ours or ``null``); a locked workspace sends every
page to the unlock form.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final
from urllib.parse import quote

from aiohttp import web

from agency_client.workspace import views
from agency_client.workspace.guard import COOKIE, Guard
from agency_client.workspace.rendering import GUARD, TEMPLATES, environment, problem

__all__ = ["MAX_BODY", "build_app", "serve"]

log = logging.getLogger(__name__)

MAX_BODY: Final = 1024 * 1024
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PUBLIC: Final = frozenset({"/open", "/static/workspace.css"})
WHILE_LOCKED: Final = frozenset({"/unlock", "/lock"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers on every answer; the Host check; errors as plain pages."""
    guard = request.app[GUARD]
    try:
        if request.host not in guard.allowed_hosts():
            response: web.StreamResponse = web.Response(
                status=421, text="This workspace answers only on its own address.\n"
            )
        else:
            response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = problem(
            request, 413, "Too much to send", "What was sent is larger than this form accepts."
        )
    except web.HTTPException as exc:
        if exc.status >= 400:
            response = problem(request, exc.status, exc.reason, "")
        else:  # a redirect
            response = web.Response(status=exc.status, headers=exc.headers)
    except Exception as exc:  # a page that fails shows no detail; the log names the type only
        log.error("page %s failed: %s", request.path.split("/")[1][:20], type(exc).__name__)
        response = problem(request, 500, "Something went wrong", "Reload the page to try again.")
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


@web.middleware
async def session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The session cookie, CSRF on every POST, the idle lock and the lock."""
    guard = request.app[GUARD]
    if request.path in PUBLIC:
        return await handler(request)
    if not guard.is_session(request.cookies.get(COOKIE)):
        return problem(
            request,
            403,
            "Open the workspace from its link",
            "This workspace opens only from the link 'agency-client ui' printed, once. "
            "Start 'agency-client ui' again for a new link.",
        )
    if request.method == "POST":
        origin = request.headers.get("Origin")
        # Under Referrer-Policy: no-referrer browsers send "Origin: null" with our own forms.
        ours = {"null", *(f"http://{h}" for h in guard.allowed_hosts())}
        if origin is not None and origin not in ours:
            return problem(request, 403, "Refused", "The form came from another site.")
        form = await request.post()
        if not guard.csrf_ok(form.get("csrf")):
            return problem(
                request,
                403,
                "This form has expired",
                "Go back, reload the page and submit the form again.",
            )
    guard.touch()
    if guard.unlocked is None and request.path not in WHILE_LOCKED:
        target = request.path_qs if request.method == "GET" else "/"
        raise web.HTTPSeeOther("/unlock?next=" + quote(target, safe=""))
    return await handler(request)


async def _idle_timer(app: web.Application) -> AsyncIterator[None]:
    guard = app[GUARD]

    async def tick() -> None:
        every = max(1.0, min(30.0, guard.idle.total_seconds() / 4))
        while True:
            await asyncio.sleep(every)
            guard.lock_if_idle()

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    guard.lock()


def build_app(guard: Guard) -> web.Application:
    """The workspace application for ``guard``'s data directory."""
    app = web.Application(middlewares=[security, session], client_max_size=MAX_BODY)
    app[GUARD] = guard
    app[TEMPLATES] = environment()
    app.cleanup_ctx.append(_idle_timer)
    views.add_routes(app)
    return app


async def serve(guard: Guard, port: int = 0) -> web.AppRunner:
    """Serve on 127.0.0.1 (a random free port unless ``port``); set ``guard.port``."""
    runner = web.AppRunner(build_app(guard), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    guard.port = int(runner.addresses[0][1])
    return runner
