"""Staff API bearer tokens: who a request's ``Authorization`` names, and the use-cases
that issue (admins), list and revoke (admins for anyone, staff for themselves) them.

A member of staff may list and revoke their own tokens but not make one: a stolen token
could otherwise renew itself past its expiry. A token is narrowed, if asked, to a role at
most its user's and to some of their areas, and never exceeds its user (checked on use).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, use_case
from hub.app.runtime import Runtime
from hub.cases.areas import list_areas, user_area_ids
from hub.protocol.errors import HubError, ProtocolError
from hub.users import ROLES, StaffUser, TokenCache
from hub.users.tables import users
from hub.users.tokens import (
    DEFAULT_LIFETIME,
    Issued,
    TokenInfo,
    issue_token,
    list_tokens,
    revoke_tokens,
    role_within,
)

__all__ = [
    "DEFAULT_LIFETIME",
    "Issued",
    "StaffUser",
    "TokenCache",
    "TokenInfo",
    "bearer_user",
    "list_user_tokens",
    "new_token",
    "revoke_user_tokens",
]


async def bearer_user(cache: TokenCache, authorization: str) -> StaffUser | None:
    """The member of staff whose token ``Authorization: Bearer <token>`` carries, as its
    scope narrows them, or None (no header, another scheme, a token unknown or revoked, or
    a user revoked). An expired token raises ``unauthorized`` saying so."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    bearer = await cache.authenticate(token.strip())
    if bearer is None:
        return None
    return StaffUser(
        bearer.name,
        bearer.role,
        bearer.created_at,
        account_role=bearer.user_role,
        area_limit=bearer.area_limit,
    )


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is a string", code="wrong-type")
    return value


def _own_or_admin(actor: Actor, user_name: str) -> None:
    if actor.role != "admin" and actor.name != user_name:
        raise HubError("only an admin may see or revoke another's tokens", code="forbidden")


async def _active_role(rt: Runtime, user_name: str) -> str:
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.name == user_name))).first()
    if row is None or row.revoked_at is not None:
        raise HubError(f"no active user {user_name[:64]!r}", code="not-found")
    role: str = row.role
    return role


async def _checked_areas(
    rt: Runtime, user_name: str, user_role: str, role: str, areas: Sequence[object] | None
) -> tuple[str, ...] | None:
    if areas is None:
        if role == "coordinator" and user_role != "coordinator":
            raise ProtocolError("a coordinator token of an admin names its areas (--area)")
        return None
    if not isinstance(areas, list | tuple) or not areas:
        raise ProtocolError("areas is a non-empty list of area ids", code="wrong-type")
    wanted = tuple(sorted({_text(a, "an area") for a in areas}))
    if role != "coordinator":
        raise ProtocolError("areas narrow a coordinator's token only (--role coordinator)")
    async with rt.engine.connect() as conn:
        known = {a.id for a in await list_areas(conn)}
        own = await user_area_ids(conn, user_name) if user_role == "coordinator" else known
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise HubError(f"no area {unknown[0][:64]!r}", code="not-found")
    outside = [a for a in wanted if a not in own]
    if outside:
        raise HubError(
            f"a token cannot exceed its user: {user_name} does not work in {outside[0]}",
            code="forbidden",
        )
    return wanted


@use_case("token.new", "admin")
async def new_token(
    rt: Runtime,
    actor: Actor,
    user_name: str,
    *,
    expires_at: datetime | None = None,
    role: str | None = None,
    areas: Sequence[object] | None = None,
    label: str | None = None,
) -> Issued:
    """Make an API token for a member of staff (shown once), expiring at ``expires_at``
    (default: in 90 days), narrowed to ``role`` and ``areas`` if given."""
    user_role = await _active_role(rt, _text(user_name, "user"))
    if role is not None:
        if _text(role, "role") not in ROLES:
            raise ProtocolError(f"role must be one of {', '.join(ROLES)}")
        if not role_within(role, user_role):
            raise HubError(
                f"a token cannot exceed its user: {user_name} is a {user_role}", code="forbidden"
            )
    scope = await _checked_areas(rt, user_name, user_role, role or user_role, areas)
    now = rt.clock()
    async with rt.engine.begin() as conn:
        return await issue_token(
            conn,
            user_name,
            now=now,
            expires_at=expires_at or now + DEFAULT_LIFETIME,
            created_by=actor.log_name,
            # narrowed to areas: a coordinator's token, even if its user is promoted later
            role="coordinator" if scope is not None else role,
            areas=scope,
            label=None if label is None else _text(label, "label"),
        )


@use_case("token.list", *ANY_STAFF)
async def list_user_tokens(rt: Runtime, actor: Actor, user_name: str) -> list[TokenInfo]:
    """A member of staff's API tokens, never their secrets (admins: anyone's; others:
    their own)."""
    _own_or_admin(actor, _text(user_name, "user"))
    async with rt.engine.connect() as conn:
        exists = await conn.scalar(select(users.c.id).where(users.c.name == user_name))
        if exists is None:
            raise HubError(f"no user {user_name[:64]!r}", code="not-found")
        return await list_tokens(conn, user_name)


@use_case("token.revoke", *ANY_STAFF)
async def revoke_user_tokens(
    rt: Runtime, actor: Actor, user_name: str, token: str | None = None
) -> int:
    """Revoke one of a member of staff's API tokens, or all of them (admins: anyone's;
    others: their own); refused at once by every hub process."""
    _own_or_admin(actor, _text(user_name, "user"))
    async with rt.engine.begin() as conn:
        return await revoke_tokens(
            conn, user_name, now=rt.clock(), token=None if token is None else _text(token, "token")
        )
