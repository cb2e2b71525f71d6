"""Staff users (admin, coordinator, dpo) and their bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.secrets import token_id
from hub.users.tables import users
from hub.users.tokens import DEFAULT_LIFETIME, TokenCache, issue_token

__all__ = ["ROLES", "Role", "StaffUser", "TokenCache", "add_user", "list_users", "revoke_user"]

Role = Literal["admin", "coordinator", "dpo"]
ROLES: Final = ("admin", "coordinator", "dpo")


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A member of staff as a door sees them. Through an API token narrowed to a smaller
    role or some areas, ``role`` is the token's, ``account_role`` the user's own and
    ``area_limit`` the token's areas (None: no narrowing)."""

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None
    account_role: str | None = None
    area_limit: frozenset[str] | None = None


async def add_user(
    engine: AsyncEngine,
    name: str,
    role: str,
    *,
    now: datetime,
    expires_at: datetime | None = None,
    created_by: str = "admin:cli",
) -> str:
    """Create a user and return their first bearer token (shown once, stored only hashed;
    it expires at ``expires_at``, by default 90 days from ``now``)."""
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}", code="malformed")
    if not name or len(name) > 64 or not name.replace("-", "").replace(".", "").isalnum():
        raise HubError("a user name is 1-64 letters, digits, '.' or '-'", code="malformed")
    async with engine.begin() as conn:
        exists = await conn.scalar(select(users.c.id).where(users.c.name == name))
        if exists is not None:
            raise HubError(f"user {name} already exists", code="conflict")
        ident = token_id()
        await conn.execute(
            users.insert().values(name=name, role=role, token_id=ident, created_at=now)
        )
        issued = await issue_token(
            conn,
            name,
            now=now,
            expires_at=expires_at or now + DEFAULT_LIFETIME,
            created_by=created_by,
            ident=ident,
        )
    return issued.token


async def list_users(engine: AsyncEngine) -> list[StaffUser]:
    """Every user, revoked ones included."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(users).order_by(users.c.name))
        return [StaffUser(r.name, r.role, r.created_at, r.revoked_at) for r in rows]


async def revoke_user(engine: AsyncEngine, name: str, *, now: datetime) -> None:
    """Revoke a user's token; their requests are refused from now on."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(users)
            .where(users.c.name == name, users.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if result.rowcount == 0:
            raise HubError(f"no active user {name}", code="not-found")
