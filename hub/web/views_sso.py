"""Single sign-on with the organisation's OpenID provider: ``GET /sso/login`` sends the
browser to the provider, ``GET /sso/callback`` takes it back and signs it in.

The attempt is bound to the browser by a cookie (``SameSite=Lax``: the provider's redirect
back is a cross-site navigation, which would not carry a ``Strict`` cookie). For the same
reason the callback answers with a page that moves on to the first page itself: a
redirect at the end of a cross-site chain would not send the new ``Strict`` session
cookie, and the browser would land on the sign-in form again.
"""

from __future__ import annotations

import base64
import json
import secrets
import weakref
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote_plus

import aiohttp
from aiohttp import web

from hub.app.runtime import Runtime
from hub.app.single_sign_on import SingleSignOn, SsoRefused, sso_enabled
from hub.http.appkeys import RUNTIME, SETTINGS
from hub.web.pages import COOKIE, page, render, set_cookie

__all__ = ["routes"]

routes = web.RouteTableDef()
SSO_COOKIE: Final = "marac_sso"
HOME: Final = {"admin": "/dashboard", "coordinator": "/dashboard", "dpo": "/log"}
MAX_BODY: Final = 256 * 1024
TIMEOUT: Final = aiohttp.ClientTimeout(total=15)
# One SingleSignOn (its cached provider metadata and keys) per running hub's runtime.
_INSTANCES: weakref.WeakKeyDictionary[Runtime, SingleSignOn] = weakref.WeakKeyDictionary()

# What the person is told, by refusal reason (the reason code is shown too, for support).
_MESSAGES: Final = {
    "no-mapped-role": "You signed in with {provider}, but your account there gives you no "
    "role in this hub. Ask your MARAC administrator to add you to the right group.",
    "role-conflict": "You signed in with {provider}, but your groups there give you more "
    "than one role in this hub. Ask your MARAC administrator to sort out your groups.",
    "deactivated": "Your account in this hub is deactivated. Ask your MARAC administrator.",
    "name-taken": "A hub account with your user name already exists and is not linked to "
    "{provider}. Ask your MARAC administrator.",
    "no-mfa": "This hub needs you to sign in to {provider} with a second factor "
    "(multi-factor authentication). Sign in again and use it.",
    "no-login-attempt": "This sign-in was not started in this browser, or it took too long. "
    "Please start again.",
    "state-mismatch": "This sign-in was not started in this browser. Please start again.",
    "provider-refused": "{provider} did not sign you in. Please try again.",
    "hub-misconfigured": "Single sign-on is not set up correctly on this hub. Ask your "
    "MARAC administrator, or sign in with your hub password if you have one.",
    "provider-unreachable": "The sign-in service could not be reached. Please try again "
    "later, or sign in with your hub password if you have one.",
}


class _AiohttpProvider:
    """The provider's HTTP calls, made with aiohttp (no redirects, bounded bodies)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def _json(self, response: aiohttp.ClientResponse) -> object:
        body = await response.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise OSError("the provider's answer is too large")
        try:
            return json.loads(body)
        except ValueError:
            return None

    async def get_json(self, url: str) -> object:
        """GET ``url``'s JSON; an ``OSError`` for anything but a 200."""
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    raise OSError(f"the provider answered {response.status}")
                return await self._json(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OSError("the provider could not be reached") from exc

    async def post_form(
        self, url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None
    ) -> tuple[int, object]:
        """POST ``form``; the status and JSON body."""
        headers = {"Accept": "application/json"}
        if basic:  # RFC 6749 2.3.1: each part form-encoded, then HTTP Basic
            pair = f"{quote_plus(basic[0])}:{quote_plus(basic[1])}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        try:
            async with self._session.post(
                url, data=dict(form), headers=headers, allow_redirects=False
            ) as response:
                return response.status, await self._json(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OSError("the provider could not be reached") from exc


def _single_sign_on(request: web.Request) -> SingleSignOn:
    if not sso_enabled(request.app[SETTINGS]):
        raise web.HTTPNotFound(reason="single sign-on is not set up on this hub")
    rt = request.app[RUNTIME]
    found = _INSTANCES.get(rt)
    if found is None:
        found = _INSTANCES[rt] = SingleSignOn(rt)
    return found


def _redirect_uri(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    if settings.sso_redirect_url:
        return settings.sso_redirect_url
    base = settings.public_url or str(request.url.origin())
    return base.rstrip("/") + "/sso/callback"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//host`` or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target if len(target) < 300 and target.isprintable() else None


def _refused(request: web.Request, reason: str) -> web.Response:
    provider = request.app[SETTINGS].sso_provider_name
    message = _MESSAGES.get(reason, "The sign-in could not be completed.").format(provider=provider)
    status = {"provider-unreachable": 502, "hub-misconfigured": 503}.get(reason, 403)
    response = render(
        request,
        "sso.html",
        {"title": "Sign-in refused", "message": message, "reason": reason, "target": None},
        status=status,
    )
    response.del_cookie(SSO_COOKIE, path="/sso/")
    return response


@routes.get("/sso/login")
@page()
async def sso_login(request: web.Request) -> web.StreamResponse:
    """Send the browser to the provider, with a fresh attempt bound to it by a cookie."""
    sso = _single_sign_on(request)
    browser = secrets.token_urlsafe(32)
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            target = await sso.begin(
                _AiohttpProvider(session),
                browser,
                redirect_uri=_redirect_uri(request),
                next_path=_safe_next(request.query.get("next")),
            )
    except SsoRefused as refused:
        return _refused(request, refused.reason)
    response = web.HTTPFound(target)
    secure = request.secure or request.app[SETTINGS].web_secure_cookies
    response.set_cookie(
        SSO_COOKIE, browser, httponly=True, samesite="Lax", secure=secure, path="/sso/", max_age=600
    )
    raise response


@routes.get("/sso/callback")
@page()
async def sso_callback(request: web.Request) -> web.StreamResponse:
    """Check the provider's answer; start a session and move on to the first page."""
    sso = _single_sign_on(request)
    query = request.query
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            done = await sso.finish(
                _AiohttpProvider(session),
                request.cookies.get(SSO_COOKIE, ""),
                state=query.get("state"),
                code=query.get("code"),
                error=query.get("error"),
            )
    except SsoRefused as refused:
        return _refused(request, refused.reason)
    target = _safe_next(done.next_path) or HOME.get(done.user.role, "/")
    response = render(
        request, "sso.html", {"title": "Signed in", "message": None, "target": target}
    )
    response.headers["Refresh"] = f"0; url={target}"
    set_cookie(request, response, COOKIE, done.session_token)
    response.del_cookie(SSO_COOKIE, path="/sso/")
    return response
