"""What every web page shares: the session guard, CSRF, rendering, errors, headers.

``page(*roles)`` wraps a handler: no live session sends the browser to the sign-in page;
a role not named gets a 403 page; every POST must carry the session's CSRF token. Errors
the domain raises (``HubError``) become an HTML page with the matching status and the
error's one-line message (which never holds personal data).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any, Final
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from hub.app.actor import Actor
from hub.app.catalogue import roles_of
from hub.app.identity import actor_for
from hub.app.signin import Session, StaffUser, same_token, session_of
from hub.http.appkeys import RUNTIME, SETTINGS
from hub.http.request_log import note_role
from hub.protocol.errors import PROBLEM_TYPES, HubError, ProtocolError

__all__ = [
    "COOKIE",
    "current",
    "form",
    "page",
    "page_for",
    "render",
    "see_other",
    "set_cookie",
    "web_actor",
]

log = logging.getLogger("hub.web")
COOKIE: Final = "marac_session"
SESSION = web.RequestKey("web_session", Session)
FORM = web.RequestKey("web_form", MultiDictProxy)
MAX_FIELD: Final = 20_000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# What the navigation offers each role: (path, label).
NAV: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "coordinator": (
        ("/dashboard", "Dashboard"),
        ("/referrals/new", "New referral"),
        ("/meetings", "Meetings"),
        ("/actions", "Actions"),
        ("/agencies", "Agencies"),
    ),
    "dpo": (
        ("/log", "Disclosure log"),
        ("/log/integrity", "Integrity"),
        ("/log/charts", "Charts"),
        ("/log/subject", "Subject access"),
        ("/log/reviews", "Overrides and refusals"),
        ("/retention", "Retention"),
    ),
}
NAV["admin"] = NAV["coordinator"] + NAV["dpo"]


def current(request: web.Request) -> StaffUser:
    """The signed-in member of staff."""
    return request[SESSION].user


async def web_actor(request: web.Request) -> Actor:
    """The signed-in member of staff as the use-cases see them (door ``web``)."""
    return await actor_for(request.app[RUNTIME], current(request), "web")


def form(request: web.Request) -> MultiDictProxy[Any]:
    """The submitted form (read and CSRF-checked by ``page``)."""
    return request[FORM]


def field(
    request: web.Request, name: str, *, required: bool = True, limit: int = MAX_FIELD
) -> str | None:
    """One text field of the form, stripped; a one-line error if missing or too long."""
    value = form(request).get(name)
    if isinstance(value, str):
        value = value.strip()
    if not value:
        if required:
            raise ProtocolError(f"{name.replace('_', ' ')} is required", code="missing-field")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError(f"{name.replace('_', ' ')} is too long", code="field-too-large")
    return value


def see_other(location: str) -> web.HTTPSeeOther:
    """A redirect after a POST (the browser then GETs ``location``)."""
    return web.HTTPSeeOther(location)


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Render ``template`` with the page's shared context (user, CSRF token, navigation)."""
    session = request.get(SESSION)
    settings = request.app[SETTINGS]
    base = {
        "user": session.user if session else None,
        "csrf": session.csrf if session else None,
        "nav": NAV.get(session.user.role, ()) if session else (),
        "path": request.path,
        "idle_seconds": settings.web_idle_minutes * 60,
        "notice": None,
    }
    return aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    """A cookie only this site's pages send back: HttpOnly, SameSite=Strict, Secure on TLS."""
    secure = request.secure or request.app[SETTINGS].web_secure_cookies
    response.set_cookie(name, value, httponly=True, samesite="Strict", secure=secure, path="/")


def _status(error: HubError) -> int:
    known = PROBLEM_TYPES.get(error.code)
    return known.status if known else error.status


def _error(request: web.Request, status: int, message: str) -> web.Response:
    titles = {400: "That did not work", 403: "Not allowed", 404: "Not found", 409: "Not now"}
    return render(
        request,
        "error.html",
        {"title": titles.get(status, "Something went wrong"), "message": message},
        status=status,
    )


def _to_login(request: web.Request, expired: bool) -> web.HTTPSeeOther:
    target = request.path if request.method == "GET" else "/"
    suffix = "&expired=1" if expired else ""
    return web.HTTPSeeOther(f"/login?next={quote(target, safe='/')}{suffix}")


async def _session(request: web.Request) -> tuple[Session | None, bool]:
    token = request.cookies.get(COOKIE)
    if not token:
        return None, False
    found = await session_of(request.app[RUNTIME], token)
    return found, found is None


def page_for(use_case: str) -> Callable[[Handler], Handler]:
    """``page`` with the roles of ``use_case`` (``hub.app.catalogue``), which the page
    calls; ``.use_case`` names it for the authorisation tests."""
    guard = page(*roles_of(use_case))

    def decorate(handler: Handler) -> Handler:
        guarded = guard(handler)
        guarded.use_case = use_case  # type: ignore[attr-defined]
        return guarded

    return decorate


def page(*roles: str) -> Callable[[Handler], Handler]:
    """Guard a page: a live session of one of ``roles``, and the CSRF token on a POST.

    With no roles the page is public (sign-in, style sheet); its POSTs check their own
    token. ``.web_roles`` names who may use the page.
    """

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                response = await _guarded(request, handler, roles)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = _error(request, exc.status, exc.reason)
            except HubError as exc:
                log.info("%s %s -> %s", request.method, request.path, exc.code)
                response = _error(request, _status(exc), exc.message)
            for name, value in _HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        guarded.web_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate


async def _guarded(
    request: web.Request, handler: Handler, roles: tuple[str, ...]
) -> web.StreamResponse:
    if request.method == "POST":
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise ProtocolError("send a form", code="unsupported-media-type")
        request[FORM] = await request.post()
    if not roles:
        return await handler(request)
    session, expired = await _session(request)
    if session is None:
        raise _to_login(request, expired)
    request[SESSION] = session
    note_role(request, session.user.role)
    if session.user.role not in roles:
        raise HubError("your role may not use this page", code="forbidden")
    if request.method == "POST" and not same_token(form(request).get("csrf"), session.csrf):
        log.warning("%s %s: CSRF token missing or wrong", request.method, request.path)
        raise HubError(
            "this form was not sent from a page of this hub, or it is out of date: "
            "go back, reload the page and try again",
            code="forbidden",
        )
    return await handler(request)
