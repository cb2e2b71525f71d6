"""Single sign-on's records: sign-in attempts waiting for the provider (single use, short
lived, found by the SHA-256 of the browser's cookie) and the hub user an OpenID provider's
subject is, made at their first sign-in with the role and areas the role map grants, which
are set again at every sign-in."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.cases.tables import areas, user_areas
from hub.secrets import token_id
from hub.signin.oidc import Grant, LoginRequest, SsoRefused
from hub.signin.tables import sso_identities, sso_logins
from hub.users import StaffUser
from hub.users.tables import users

__all__ = ["ATTEMPT_TTL", "PendingLogin", "sign_in_subject", "start_login", "take_login"]

ATTEMPT_TTL: Final = timedelta(minutes=10)
log = logging.getLogger("hub.signin")


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A sign-in attempt taken back when the provider returns the browser."""

    request: LoginRequest
    redirect_uri: str
    next_path: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_login(
    engine: AsyncEngine,
    browser_token: str,
    request: LoginRequest,
    *,
    redirect_uri: str,
    next_path: str | None,
    now: datetime,
) -> None:
    """Keep ``request`` for the browser holding ``browser_token``; attempts older than
    :data:`ATTEMPT_TTL` are dropped on the way."""
    async with engine.begin() as conn:
        await conn.execute(delete(sso_logins).where(sso_logins.c.created_at < now - ATTEMPT_TTL))
        await conn.execute(
            sso_logins.insert().values(
                browser_sha256=_digest(browser_token),
                state=request.state,
                nonce=request.nonce,
                code_verifier=request.code_verifier,
                redirect_uri=redirect_uri,
                next_path=next_path,
                created_at=now,
            )
        )


async def take_login(engine: AsyncEngine, browser_token: str, *, now: datetime) -> PendingLogin:
    """The attempt of the browser holding ``browser_token``, deleted as it is read (a
    second callback finds nothing); ``no-login-attempt`` if none is live."""
    if not browser_token or len(browser_token) > 100:
        raise SsoRefused("no-login-attempt")
    key = _digest(browser_token)
    async with engine.begin() as conn:
        row = (
            await conn.execute(select(sso_logins).where(sso_logins.c.browser_sha256 == key))
        ).first()
        if row is None:
            raise SsoRefused("no-login-attempt")
        taken = await conn.execute(delete(sso_logins).where(sso_logins.c.browser_sha256 == key))
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=now.tzinfo)
    if taken.rowcount != 1 or now - created > ATTEMPT_TTL:
        raise SsoRefused("no-login-attempt")
    return PendingLogin(
        LoginRequest(row.state, row.nonce, row.code_verifier), row.redirect_uri, row.next_path
    )


async def sign_in_subject(
    engine: AsyncEngine, issuer: str, subject: str, name: str, grant: Grant, *, now: datetime
) -> StaffUser:
    """The hub user ``subject`` of ``issuer`` is, with ``grant``'s role and areas set now.

    The first sign-in makes the user, named ``name``; a name an existing user already has
    is refused (``name-taken``: no one takes over an account by naming it). A deactivated
    user is refused (``deactivated``), whatever the provider says.
    """
    async with engine.begin() as conn:
        linked = await conn.scalar(
            select(sso_identities.c.user_name).where(
                sso_identities.c.issuer == issuer, sso_identities.c.subject == subject
            )
        )
        if linked is None:
            if await conn.scalar(select(users.c.id).where(users.c.name == name)) is not None:
                raise SsoRefused("name-taken")
            await conn.execute(
                users.insert().values(
                    name=name, role=grant.role, token_id=token_id(), created_at=now
                )
            )
            await conn.execute(
                sso_identities.insert().values(
                    issuer=issuer,
                    subject=subject,
                    user_name=name,
                    created_at=now,
                    last_sign_in_at=now,
                )
            )
            linked = name
        row = (await conn.execute(select(users).where(users.c.name == linked))).one()
        if row.revoked_at is not None:
            raise SsoRefused("deactivated")
        await conn.execute(update(users).where(users.c.name == linked).values(role=grant.role))
        await conn.execute(
            update(sso_identities)
            .where(sso_identities.c.issuer == issuer, sso_identities.c.subject == subject)
            .values(last_sign_in_at=now)
        )
        await _set_areas(conn, linked, grant.areas)
    return StaffUser(row.name, grant.role, row.created_at)


async def _set_areas(conn: AsyncConnection, user_name: str, wanted: frozenset[str]) -> None:
    """The user's areas become ``wanted`` (those of them that exist)."""
    known = set(
        (await conn.execute(select(areas.c.id).where(areas.c.id.in_(sorted(wanted))))).scalars()
    )
    if missing := sorted(wanted - known):
        log.warning("sso role map names areas the hub does not have: %s", ", ".join(missing))
    await conn.execute(delete(user_areas).where(user_areas.c.user_name == user_name))
    for area_id in sorted(known):
        await conn.execute(user_areas.insert().values(area_id=area_id, user_name=user_name))
