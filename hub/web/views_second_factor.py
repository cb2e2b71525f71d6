"""Second factors in the web UI: the second step of sign-in, the forced enrolment of an
authenticator app, and each member of staff's own factors (``/account/security``).

The second step and the enrolment are public pages that take only the login attempt's
cookie (``marac_attempt``) and check its own form token: that cookie opens nothing else.
The QR code is drawn here (``segno``, inline SVG); passkeys need the small script
``/static/passkeys.js`` (WebAuthn has no form-only way), everything else works without.
"""

from __future__ import annotations

from typing import Any, Final

import segno
from aiohttp import web

from hub.app import second_factors as factors
from hub.app.second_factors import Finished, RelyingParty
from hub.app.signin import same_token
from hub.http.appkeys import RUNTIME, SETTINGS
from hub.web.auth import ATTEMPT_COOKIE, HOME, STAFF
from hub.web.pages import (
    COOKIE,
    current,
    field,
    form,
    page,
    page_for,
    render,
    see_other,
    set_cookie,
    web_actor,
)

__all__ = ["routes"]

routes = web.RouteTableDef()
WRONG: Final = (
    "That code did not work. A code is good once, for about 30 seconds; a recovery code "
    "once. After five wrong tries sign-in is locked for a few minutes."
)
GONE: Final = "This sign-in has expired or was locked. Please sign in again."


def qr_svg(uri: str) -> str:
    """The enrolment URI as an inline SVG QR code (drawn here: no external service)."""
    return str(
        segno.make(uri, error="m").svg_inline(scale=4, light="#fff", dark="#000", svgclass="qr")
    )


def _json_in_html(options: str | None) -> str | None:
    """JSON safe inside a ``<script type="application/json">`` element."""
    return options.replace("<", "\\u003c") if options is not None else None


def _rp(request: web.Request) -> RelyingParty | None:
    return factors.relying_party(request.app[SETTINGS], request.host)


def _attempt_token(request: web.Request) -> str:
    return request.cookies.get(ATTEMPT_COOKIE, "")


def _signed_in(request: web.Request, done: Finished, response: web.StreamResponse) -> None:
    set_cookie(request, response, COOKIE, done.session)
    response.del_cookie(ATTEMPT_COOKIE, path="/")


def _gone(request: web.Request) -> web.Response:
    response = render(
        request, "error.html", {"title": "Sign in again", "message": GONE}, status=401
    )
    response.del_cookie(ATTEMPT_COOKIE, path="/")
    return response


def _text(request: web.Request, name: str, limit: int) -> str:
    value = form(request).get(name)
    return value[:limit] if isinstance(value, str) else ""


def _form_token_ok(request: web.Request, csrf: str) -> bool:
    return same_token(_text(request, "csrf", 100), csrf)


# -- the second step of sign-in ------------------------------------------------------


async def _verify_page(
    request: web.Request, *, message: str | None = None, status: int = 200
) -> web.Response:
    rt, token = request.app[RUNTIME], _attempt_token(request)
    attempt = await factors.attempt_of(rt, token, "verify")
    if attempt is None:
        return _gone(request)
    rp = _rp(request)
    options = await factors.passkey_login_options(rt, token, rp) if rp else None
    return render(
        request,
        "second_factor_verify.html",
        {
            "title": "Second step of sign-in",
            "form_token": attempt.csrf,
            "passkey_options": _json_in_html(options),
            "message": message,
        },
        status=status,
    )


@routes.get("/login/second-factor")
@page()
async def second_factor_form(request: web.Request) -> web.StreamResponse:
    """Ask for a code from the authenticator app, a recovery code, or a passkey."""
    return await _verify_page(request)


@routes.post("/login/second-factor")
@page()
async def second_factor(request: web.Request) -> web.StreamResponse:
    """Check a TOTP or recovery code; the session starts only if it is right."""
    rt, token = request.app[RUNTIME], _attempt_token(request)
    attempt = await factors.attempt_of(rt, token, "verify")
    if attempt is None:
        return _gone(request)
    if not _form_token_ok(request, attempt.csrf):
        return await _verify_page(request, message="The form was out of date.", status=403)
    done = await factors.finish_with_code(rt, token, _text(request, "code", 64))
    if done is None:
        return await _verify_page(request, message=WRONG, status=401)
    response = web.HTTPSeeOther(done.next_path or HOME[done.user.role])
    _signed_in(request, done, response)
    raise response


@routes.post("/login/passkey")
@page()
async def second_factor_passkey(request: web.Request) -> web.StreamResponse:
    """Check a passkey's answer to this attempt's challenge."""
    rt, token, rp = request.app[RUNTIME], _attempt_token(request), _rp(request)
    attempt = await factors.attempt_of(rt, token, "verify")
    if attempt is None:
        return _gone(request)
    if not _form_token_ok(request, attempt.csrf):
        return await _verify_page(request, message="The form was out of date.", status=403)
    credential = _text(request, "credential", 20_000)
    done = await factors.finish_with_passkey(rt, token, credential, rp) if rp else None
    if done is None:
        return await _verify_page(
            request, message="That passkey was not accepted. " + WRONG, status=401
        )
    response = web.HTTPSeeOther(done.next_path or HOME[done.user.role])
    _signed_in(request, done, response)
    raise response


# -- the forced enrolment --------------------------------------------------------------


async def _enrol_page(
    request: web.Request, *, message: str | None = None, status: int = 200
) -> web.Response:
    rt = request.app[RUNTIME]
    attempt = await factors.attempt_of(rt, _attempt_token(request), "enrol")
    if attempt is None:
        return _gone(request)
    secret, uri = await factors.enrolment_secret(rt, attempt)
    return render(
        request,
        "second_factor_enrol.html",
        {
            "title": "Set up your authenticator app",
            "forced": True,
            "action": "/login/enrol",
            "form_token": attempt.csrf,
            "secret": secret,
            "qr": qr_svg(uri),
            "message": message,
        },
        status=status,
    )


@routes.get("/login/enrol")
@page()
async def enrol_form(request: web.Request) -> web.StreamResponse:
    """A role that signs in with a second factor, and none yet: set up an app first."""
    return await _enrol_page(request)


@routes.post("/login/enrol")
@page()
async def enrol(request: web.Request) -> web.StreamResponse:
    """Confirm the app with a current code; the session starts, the recovery codes show once."""
    rt, token = request.app[RUNTIME], _attempt_token(request)
    attempt = await factors.attempt_of(rt, token, "enrol")
    if attempt is None:
        return _gone(request)
    if not _form_token_ok(request, attempt.csrf):
        return await _enrol_page(request, message="The form was out of date.", status=403)
    finished = await factors.finish_enrolment(rt, token, _text(request, "code", 64))
    if finished is None:
        return await _enrol_page(request, message=WRONG, status=401)
    done, codes = finished
    response = _codes_page(request, codes, done.next_path or HOME[done.user.role])
    _signed_in(request, done, response)
    return response


def _codes_page(request: web.Request, codes: list[str], onward: str) -> web.Response:
    return render(
        request,
        "second_factor_codes.html",
        {"title": "Your recovery codes", "codes": codes, "onward": onward},
    )


# -- a member of staff's own factors ---------------------------------------------------


@routes.get("/account/security")
@page(*STAFF)
async def account(request: web.Request) -> web.StreamResponse:
    """Second factors: the authenticator app, passkeys, recovery codes."""
    rt, user, rp = request.app[RUNTIME], current(request), _rp(request)
    mine = await factors.factors_of(rt, user)
    options = None
    if rp is not None:
        options = await factors.passkey_registration_options(
            rt, user, request.cookies.get(COOKIE, ""), rp
        )
    context: dict[str, Any] = {
        "title": "Sign-in security",
        "factors": mine,
        "passkey_options": _json_in_html(options),
        "notice": request.query.get("done") and _NOTICES.get(request.query["done"]),
    }
    return render(request, "second_factor_account.html", context)


_NOTICES: Final = {
    "passkey": "Passkey added.",
    "passkey-removed": "Passkey removed.",
    "totp-removed": "Authenticator app removed.",
    "totp": "Authenticator app set up.",
}


@routes.get("/account/totp")
@page(*STAFF)
async def totp_form(request: web.Request) -> web.StreamResponse:
    """Set up an authenticator app: the QR code and the secret."""
    return await _account_totp_page(request)


async def _account_totp_page(
    request: web.Request, *, message: str | None = None, status: int = 200
) -> web.Response:
    secret, uri = await factors.start_totp(request.app[RUNTIME], current(request))
    return render(
        request,
        "second_factor_enrol.html",
        {
            "title": "Set up your authenticator app",
            "forced": False,
            "action": "/account/totp",
            "form_token": None,
            "secret": secret,
            "qr": qr_svg(uri),
            "message": message,
        },
        status=status,
    )


@routes.post("/account/totp")
@page(*STAFF)
async def totp_confirm(request: web.Request) -> web.StreamResponse:
    """Confirm the app with a current code."""
    code = field(request, "code", limit=64) or ""
    codes = await factors.confirm_totp(request.app[RUNTIME], current(request), code)
    if codes is None:
        return await _account_totp_page(request, message=WRONG, status=400)
    if codes:
        return _codes_page(request, codes, "/account/security")
    raise see_other("/account/security?done=totp")


@routes.post("/account/totp/remove")
@page(*STAFF)
async def totp_remove(request: web.Request) -> web.StreamResponse:
    """Remove the authenticator app; with no factor left, set up a new one."""
    left = await factors.remove_totp(request.app[RUNTIME], current(request))
    raise see_other("/account/security?done=totp-removed" if left else "/account/totp")


@routes.post("/account/recovery-codes")
@page(*STAFF)
async def recovery_codes(request: web.Request) -> web.StreamResponse:
    """Ten new recovery codes, shown once; the old ones stop working."""
    codes = await factors.new_recovery_codes(request.app[RUNTIME], current(request))
    return _codes_page(request, codes, "/account/security")


@routes.post("/account/passkeys")
@page(*STAFF)
async def passkey_add(request: web.Request) -> web.StreamResponse:
    """Register a passkey from the browser's answer to this session's challenge."""
    rp = _rp(request)
    if rp is None:
        raise web.HTTPBadRequest(reason="passkeys need the hub's public URL to be set")
    codes = await factors.add_passkey(
        request.app[RUNTIME],
        current(request),
        request.cookies.get(COOKIE, ""),
        _text(request, "credential", 20_000),
        field(request, "label", limit=64) or "",
        rp,
    )
    if codes is None:
        raise web.HTTPBadRequest(reason="the passkey was not accepted: please try again")
    if codes:
        return _codes_page(request, codes, "/account/security")
    raise see_other("/account/security?done=passkey")


@routes.post("/account/passkeys/remove")
@page(*STAFF)
async def passkey_remove(request: web.Request) -> web.StreamResponse:
    """Remove one of my passkeys; with no factor left, set up an authenticator app."""
    credential_id = field(request, "credential_id", limit=1400) or ""
    left = await factors.remove_passkey(request.app[RUNTIME], current(request), credential_id)
    raise see_other("/account/security?done=passkey-removed" if left else "/account/totp")


# -- an admin resets a member of staff's factors (a lost phone) -----------------------


@routes.get("/admin/second-factors")
@page_for("user.reset-factors")
async def reset_form(request: web.Request) -> web.StreamResponse:
    """The form an admin resets a member of staff's second factors with."""
    return render(request, "second_factor_reset.html", {"title": "Reset second factors"})


@routes.post("/admin/second-factors")
@page_for("user.reset-factors")
async def reset(request: web.Request) -> web.StreamResponse:
    """Remove a member of staff's factors and sign them out: they enrol again."""
    name = field(request, "name", limit=64) or ""
    removed = await factors.reset_factors(request.app[RUNTIME], await web_actor(request), name)
    return render(
        request,
        "second_factor_reset.html",
        {
            "title": "Reset second factors",
            "notice": f"Second factors of {name} reset ({removed} removed, recovery codes "
            "too). They are signed out and set up a new authenticator app at their next "
            "sign-in.",
        },
    )
