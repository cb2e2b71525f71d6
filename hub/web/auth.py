"""Sign-in, sign-out, the home redirect and the style sheet and script."""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Final

from aiohttp import web

from hub.app.signin import same_token, sign_in, sign_out
from hub.http.appkeys import RUNTIME, SETTINGS
from hub.web.pages import COOKIE, current, form, page, render, see_other, set_cookie

__all__ = ["ATTEMPT_COOKIE", "HOME", "STAFF", "routes", "safe_next"]

routes = web.RouteTableDef()
LOGIN_COOKIE: Final = "marac_login"
ATTEMPT_COOKIE: Final = "marac_attempt"  # a sign-in waiting for its second factor
SECOND_STEP: Final = {"verify": "/login/second-factor", "enrol": "/login/enrol"}
STAFF: Final = ("admin", "coordinator", "dpo")
HOME: Final = {"admin": "/dashboard", "coordinator": "/dashboard", "dpo": "/log"}
_STATIC: Final = {
    "site.css": "text/css",
    "site.js": "text/javascript",
    "passkeys.js": "text/javascript",
}


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//host`` or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target if len(target) < 300 and target.isprintable() else None


def _login_page(request: web.Request, *, message: str | None, status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "title": "Sign in",
            "login_token": token,
            "next": safe_next(request.query.get("next") or form_next(request)) or "",
            "message": message,
            "expired": request.query.get("expired") == "1",
            "signed_out": request.query.get("signed_out") == "1",
            "idle_minutes": request.app[SETTINGS].web_idle_minutes,
        },
        status=status,
    )
    set_cookie(request, response, LOGIN_COOKIE, token)
    return response


def form_next(request: web.Request) -> str | None:
    """The ``next`` field of a submitted sign-in form."""
    if request.method != "POST":
        return None
    value = form(request).get("next")
    return value if isinstance(value, str) else None


@routes.get("/login")
@page()
async def login_form(request: web.Request) -> web.StreamResponse:
    """The sign-in form; arriving here after inactivity ends any session left open."""
    if request.query.get("expired") == "1" and request.cookies.get(COOKIE):
        await sign_out(request.app[RUNTIME], request.cookies[COOKIE])
    return _login_page(request, message=None)


@routes.post("/login")
@page()
async def login(request: web.Request) -> web.StreamResponse:
    """Check the name and password; start a session with a fresh token."""
    submitted = form(request)
    if not same_token(_text(submitted.get("login_token")), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_page(
            request, message="The sign-in form was out of date. Please try again.", status=403
        )
    name, password = _text(submitted.get("username")), _text(submitted.get("password"))
    target = safe_next(form_next(request))
    signed_in = await sign_in(request.app[RUNTIME], name or "", password or "", target or "")
    if signed_in is None:
        return _login_page(
            request,
            message="That user name and password do not match, or sign-in is locked for a "
            "few minutes after repeated failures.",
            status=401,
        )
    if signed_in.stage is not None:  # no session yet: the second factor first
        response = web.HTTPSeeOther(SECOND_STEP[signed_in.stage])
        set_cookie(request, response, ATTEMPT_COOKIE, signed_in.token)
    else:
        response = web.HTTPSeeOther(target or HOME[signed_in.user.role])
        set_cookie(request, response, COOKIE, signed_in.token)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@routes.post("/logout")
@page(*STAFF)
async def logout(request: web.Request) -> web.StreamResponse:
    """Sign this browser out."""
    await sign_out(request.app[RUNTIME], request.cookies.get(COOKIE, ""))
    response = web.HTTPSeeOther("/login?signed_out=1")
    response.del_cookie(COOKIE, path="/")
    raise response


@routes.get("/")
@page(*STAFF)
async def home(request: web.Request) -> web.StreamResponse:
    """Each role's first page."""
    raise see_other(HOME[current(request).role])


@routes.get("/static/{name}")
@page()
async def static(request: web.Request) -> web.StreamResponse:
    """The style sheet and the one small script (no other file is served)."""
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound(reason="no such file")
    body = resources.files("hub.web").joinpath("static", name).read_bytes()
    return web.Response(
        body=body,
        content_type=_STATIC[name],
        headers={"Cache-Control": "max-age=3600"},
    )
