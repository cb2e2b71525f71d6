"""Who is calling: staff by bearer token and role, agencies by signed request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from aiohttp import web

from hub.app import mailbox
from hub.app.actor import Actor
from hub.app.catalogue import roles_of
from hub.app.identity import actor_for
from hub.app.mailbox import Agency, calling_agency, check_caller, remember_nonce
from hub.app.tokens import StaffUser, bearer_user
from hub.crypto.request_signing import HEADER_AGENCY, read_claims
from hub.http.request_log import note_role
from hub.protocol.errors import HubError
from hub.service.appkeys import RUNTIME, TOKENS
from hub.service.problems import read_body

__all__ = [
    "NONCE",
    "actor",
    "agency_or_staff",
    "agency_request",
    "keeps_nonce",
    "prune_nonces",
    "staff",
    "staff_for",
]

USER = web.RequestKey("user", StaffUser)
NONCE = web.RequestKey("nonce", tuple)  # (agency id, nonce, time): for a keeps_nonce handler
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def staff(*roles: str) -> Callable[[RouteHandler], RouteHandler]:
    """Allow the handler to staff holding one of ``roles``; others get 401/403."""

    def decorate(handler: RouteHandler) -> RouteHandler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = await bearer_user(request.app[TOKENS], request.headers.get("Authorization", ""))
            if user is None:
                raise HubError("a valid bearer token is required", code="unauthorized")
            note_role(request, user.role)
            if user.role not in roles:
                raise HubError(f"role {user.role} may not do this", code="forbidden")
            request[USER] = user
            return await handler(request)

        guarded.roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate


def staff_for(use_case: str) -> Callable[[RouteHandler], RouteHandler]:
    """``staff`` with the roles of ``use_case`` (``hub.app.catalogue``), which the route
    calls; ``.use_case`` names it for the authorisation tests."""
    guard = staff(*roles_of(use_case))

    def decorate(handler: RouteHandler) -> RouteHandler:
        guarded = guard(handler)
        guarded.use_case = use_case  # type: ignore[attr-defined]
        return guarded

    return decorate


def current_user(request: web.Request) -> StaffUser:
    """The authenticated member of staff."""
    user: StaffUser = request[USER]
    return user


async def actor(request: web.Request) -> Actor:
    """The authenticated member of staff as the use-cases see them (door ``api``)."""
    return await actor_for(request.app[RUNTIME], current_user(request), "api")


def agency_request(handler: Callable[[web.Request, Agency, bytes], Awaitable[Any]]) -> RouteHandler:
    """Allow only a correctly signed, fresh, unreplayed request from an active agency."""

    @wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        app = request.app
        now = datetime.now(UTC)
        body = await read_body(request)
        agency_id, fingerprint = read_claims(request.headers)
        agency, nonce = check_caller(
            await calling_agency(app[RUNTIME], agency_id),
            fingerprint,
            request.headers,
            request.method,
            request.path,
            request.query_string,
            body,
            now=now,
        )
        note_role(request, "agency")  # its signature checked
        if getattr(handler, "keeps_nonce", False):  # kept in the handler's own transaction
            request[NONCE] = (agency.id, nonce, now)
        else:
            await remember_nonce(app[RUNTIME].engine, agency.id, nonce, now)
        result: web.StreamResponse = await handler(request, agency, body)
        return result

    guarded.roles = ("agency",)  # type: ignore[attr-defined]
    return guarded


def keeps_nonce(handler: Any) -> Any:
    """Mark an ``agency_request`` handler that keeps ``request[NONCE]`` in its own write
    transaction (one commit instead of two on a hot path)."""
    handler.keeps_nonce = True
    return handler


async def prune_nonces(app: web.Application, now: datetime) -> None:
    """Forget nonces too old to matter (housekeeping: ``hub.app.mailbox.prune_nonces``)."""
    await mailbox.prune_nonces(app[RUNTIME].engine, now)


def agency_or_staff(
    *roles: str,
) -> Callable[[Callable[[web.Request, Agency | None], Awaitable[Any]]], RouteHandler]:
    """Allow a signed request from an active agency (``agency`` is passed) or staff holding
    one of ``roles`` (``None`` is passed). ``.roles`` is ``("agency", *roles)``."""

    def decorate(handler: Callable[[web.Request, Agency | None], Awaitable[Any]]) -> RouteHandler:
        async def as_agency(request: web.Request, agency: Agency, _body: bytes) -> Any:
            return await handler(request, agency)

        async def as_staff(request: web.Request) -> Any:
            return await handler(request, None)

        by_agency, by_staff = agency_request(as_agency), staff(*roles)(as_staff)

        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            if HEADER_AGENCY in request.headers:
                return await by_agency(request)
            return await by_staff(request)

        guarded.roles = ("agency", *roles)  # type: ignore[attr-defined]
        return guarded

    return decorate
