"""Staff users (admin, coordinator, dpo) and their bearer tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.secrets import hash_secret, new_secret, token_id, verify_secret
from hub.users.tables import users

__all__ = ["ROLES", "Role", "StaffUser", "TokenCache", "add_user", "list_users", "revoke_user"]

Role = Literal["admin", "coordinator", "dpo"]
ROLES: Final = ("admin", "coordinator", "dpo")
_PREFIX: Final = "mht_"


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A member of staff as the API sees them."""

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None


async def add_user(engine: AsyncEngine, name: str, role: str, *, now: datetime) -> str:
    """Create a user and return their bearer token (shown once, stored only hashed)."""
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}", code="malformed")
    if not name or len(name) > 64 or not name.replace("-", "").replace(".", "").isalnum():
        raise HubError("a user name is 1-64 letters, digits, '.' or '-'", code="malformed")
    async with engine.begin() as conn:
        exists = await conn.scalar(select(users.c.id).where(users.c.name == name))
        if exists is not None:
            raise HubError(f"user {name} already exists", code="conflict")
        ident, secret = token_id(), new_secret()
        await conn.execute(
            users.insert().values(
                name=name, role=role, token_id=ident, token_hash=hash_secret(secret), created_at=now
            )
        )
    return f"{_PREFIX}{ident}_{secret}"


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


class TokenCache:
    """Checks bearer tokens; remembers good ones briefly so Argon2id runs once per token."""

    def __init__(self, engine: AsyncEngine, ttl: float = 30.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._good: dict[str, tuple[float, StaffUser]] = {}

    def forget(self) -> None:
        """Drop every cached token (after a revocation in this process)."""
        self._good.clear()

    async def authenticate(self, token: str) -> StaffUser | None:
        """The active user holding ``token``, or None."""
        hit = self._good.get(token)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        if not token.startswith(_PREFIX) or len(token) > 200 or token.count("_") < 2:
            return None
        ident, _, secret = token[len(_PREFIX) :].partition("_")
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.token_id == ident))).first()
        if row is None or row.revoked_at is not None or not verify_secret(row.token_hash, secret):
            return None
        user = StaffUser(row.name, row.role, row.created_at)
        self._good[token] = (time.monotonic() + self._ttl, user)
        return user
