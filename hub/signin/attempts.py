"""The second step of a sign-in: a login attempt whose password was right.

It is not a session: no page but the second-factor (or enrolment) page accepts it. The
browser holds a random token in a cookie; the hub keeps its SHA-256, the user, what the
attempt waits for (``verify`` a factor, or ``enrol`` one), a form token, where to go
afterwards and a short expiry. It is deleted when the sign-in completes (single use), when
the user's sign-in locks, or when their password or factors change.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.signin.sessions import aware
from hub.signin.tables import login_attempts
from hub.users import StaffUser
from hub.users.tables import users

__all__ = [
    "LIFETIME",
    "Attempt",
    "Stage",
    "digest",
    "end_attempt",
    "end_attempts",
    "load_attempt",
    "new_attempt",
]

Stage = Literal["verify", "enrol"]
LIFETIME: Final[dict[str, timedelta]] = {
    "verify": timedelta(minutes=5),
    "enrol": timedelta(minutes=15),  # time to install an app and scan a code
}


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in waiting for its second factor: who, for what, its form token, and where
    the browser goes once signed in."""

    user: StaffUser
    stage: Stage
    csrf: str
    next_path: str
    key: str  # the SHA-256 of the cookie token


def digest(token: str) -> str:
    """The SHA-256 (hex) a token is stored as."""
    return hashlib.sha256(token.encode()).hexdigest()


async def new_attempt(
    conn: AsyncConnection, user: StaffUser, stage: Stage, next_path: str, *, now: datetime
) -> str:
    """Record a login attempt for ``user``; the browser's cookie token (never stored)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(delete(login_attempts).where(login_attempts.c.expires_at < now))
    await conn.execute(
        login_attempts.insert().values(
            token_sha256=digest(token),
            user_name=user.name,
            stage=stage,
            csrf=secrets.token_urlsafe(32),
            next_path=next_path[:300],
            created_at=now,
            expires_at=now + LIFETIME[stage],
        )
    )
    return token


async def load_attempt(conn: AsyncConnection, token: str, *, now: datetime) -> Attempt | None:
    """The live attempt ``token`` opens, or None (unknown, expired, or the user revoked)."""
    if not token or len(token) > 100:
        return None
    row = (
        await conn.execute(
            select(login_attempts, users.c.role, users.c.created_at.label("user_created_at"))
            .join(users, users.c.name == login_attempts.c.user_name)
            .where(login_attempts.c.token_sha256 == digest(token), users.c.revoked_at.is_(None))
        )
    ).first()
    if row is None or aware(row.expires_at) <= now:
        return None
    user = StaffUser(row.user_name, row.role, row.user_created_at)
    return Attempt(user, row.stage, row.csrf, row.next_path, row.token_sha256)


async def end_attempt(conn: AsyncConnection, key: str) -> bool:
    """Delete the attempt stored as ``key``; True if this call deleted it (single use)."""
    done = await conn.execute(delete(login_attempts).where(login_attempts.c.token_sha256 == key))
    return done.rowcount == 1


async def end_attempts(conn: AsyncConnection, user_name: str) -> None:
    """Delete every login attempt of ``user_name``."""
    await conn.execute(delete(login_attempts).where(login_attempts.c.user_name == user_name))
