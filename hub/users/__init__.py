"""Staff users (admin, coordinator, dpo) and their bearer tokens."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.secrets import check_off_loop, hash_secret, new_secret, token_id
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
    """Checks bearer tokens. A good token is remembered for ``ttl`` seconds so Argon2id
    runs once per token, but every use still reads the user's row (one indexed query): a
    revocation, by any process, refuses the token at once everywhere."""

    def __init__(self, engine: AsyncEngine, ttl: float = 300.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._good: dict[str, tuple[float, str]] = {}  # SHA-256 of the token: expiry, hash

    def forget(self) -> None:
        """Drop every remembered token (the next use of each runs Argon2id again)."""
        self._good.clear()

    async def authenticate(self, token: str) -> StaffUser | None:
        """The active user holding ``token``, or None."""
        if not token.startswith(_PREFIX) or len(token) > 200 or token.count("_") < 2:
            return None
        ident, _, secret = token[len(_PREFIX) :].partition("_")
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.token_id == ident))).first()
        if row is None or row.revoked_at is not None:
            return None
        key = hashlib.sha256(token.encode()).hexdigest()
        hit = self._good.get(key)
        if hit is None or hit[0] <= time.monotonic() or hit[1] != row.token_hash:
            if not await check_off_loop(row.token_hash, secret):
                return None
            if len(self._good) > 10_000:
                self._good.clear()
            self._good[key] = (time.monotonic() + self._ttl, row.token_hash)
        return StaffUser(row.name, row.role, row.created_at)
