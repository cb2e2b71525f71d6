"""Who is calling: staff by bearer token and role, agencies by signed request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.agencies import Agency, get_agency
from hub.app.actor import Actor
from hub.app.catalogue import roles_of
from hub.app.identity import actor_for
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.request_signing import HEADER_AGENCY, WINDOW, read_claims, verify_request
from hub.delivery.outbox import keep_nonce
from hub.delivery.postgres_mailbox import postgres_mailbox
from hub.delivery.sqlite_mailbox import sqlite_mailbox
from hub.protocol.errors import HubError, PolicyError
from hub.service.appkeys import ENGINE, RUNTIME, TOKENS
from hub.service.problems import read_body
from hub.storage.tables import nonces
from hub.users import StaffUser, TokenCache

__all__ = [
    "NONCE",
    "actor",
    "agency_or_staff",
    "agency_request",
    "keeps_nonce",
    "record_nonce",
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
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            user = None
            if scheme.lower() == "bearer" and token:
                cache: TokenCache = request.app[TOKENS]
                user = await cache.authenticate(token.strip())
            if user is None:
                raise HubError("a valid bearer token is required", code="unauthorized")
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


_REFUSED = {
    "pending": ("agency enrolled; awaiting approval", "agency-not-approved"),
    "invited": ("agency has not enrolled", "agency-not-approved"),
    "suspended": ("agency suspended", "agency-suspended"),
    "revoked": ("agency revoked", "key-revoked"),
}


def agency_request(handler: Callable[[web.Request, Agency, bytes], Awaitable[Any]]) -> RouteHandler:
    """Allow only a correctly signed, fresh, unreplayed request from an active agency."""

    @wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        app = request.app
        now = datetime.now(UTC)
        body = await read_body(request)
        agency_id, fingerprint = read_claims(request.headers)
        agency = await _calling_agency(app[ENGINE], agency_id)
        if (
            agency is None
            or agency.identity_key is None
            or agency.identity_fingerprint != fingerprint
        ):
            raise PolicyError("unknown agency or key", code="unknown-agency")
        verified = verify_request(
            IdentityPublicKey.from_bytes(agency.identity_key),
            request.headers,
            request.method,
            request.path,
            request.query_string,
            body,
            now=now,
        )
        if agency.status in _REFUSED:
            message, code = _REFUSED[agency.status]
            raise PolicyError(message, code=code)
        if getattr(handler, "keeps_nonce", False):  # kept in the handler's own transaction
            request[NONCE] = (agency.id, verified.nonce, now)
        else:
            await _remember_nonce(app, agency.id, verified.nonce, now)
        result: web.StreamResponse = await handler(request, agency, body)
        return result

    guarded.roles = ("agency",)  # type: ignore[attr-defined]
    return guarded


async def _calling_agency(engine: AsyncEngine, agency_id: str) -> Agency | None:
    """The agency a signed request names, read now (on SQLite files, on the driver)."""
    fast = sqlite_mailbox(engine)
    if fast is not None:
        return fast.agency(agency_id)
    driver = postgres_mailbox(engine)
    if driver is not None:
        return await driver.agency(agency_id)
    async with engine.connect() as conn:
        return await get_agency(conn, agency_id)


def keeps_nonce(handler: Any) -> Any:
    """Mark an ``agency_request`` handler that keeps ``request[NONCE]`` in its own write
    transaction (one commit instead of two on a hot path)."""
    handler.keeps_nonce = True
    return handler


async def record_nonce(conn: Any, agency_id: str, nonce: str, now: datetime) -> None:
    """Remember a request's nonce in ``conn``'s transaction; a nonce seen before is refused."""
    await keep_nonce(conn, agency_id, nonce, now)


async def _remember_nonce(app: web.Application, agency_id: str, nonce: str, now: datetime) -> None:
    async with app[ENGINE].begin() as conn:
        await record_nonce(conn, agency_id, nonce, now)


async def prune_nonces(app: web.Application, now: datetime) -> None:
    """Forget nonces older than twice the window (they fail the time check anyway)."""
    async with app[ENGINE].begin() as conn:
        await conn.execute(
            delete(nonces).where(nonces.c.seen_at < now - 2 * WINDOW - timedelta(seconds=1))
        )


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
