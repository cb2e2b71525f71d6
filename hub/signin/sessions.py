"""Web sessions: a random cookie token (stored only as its SHA-256), a CSRF token per
session, sign-out after inactivity and after a fixed lifetime."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.signin.tables import web_sessions
from hub.users import StaffUser
from hub.users.tables import users

__all__ = [
    "Session",
    "aware",
    "end_session",
    "end_sessions",
    "load_session",
    "new_session",
    "open_session",
    "same_token",
]

TOUCH_EVERY: Final = timedelta(seconds=20)  # at most one write per session this often


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: who, and the CSRF token its forms must carry."""

    user: StaffUser
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC times."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def new_session(engine: AsyncEngine, user: StaffUser, *, now: datetime) -> str:
    """Start a session for ``user``; the cookie token (never stored)."""
    async with engine.begin() as conn:
        return await open_session(conn, user, now=now)


async def open_session(conn: AsyncConnection, user: StaffUser, *, now: datetime) -> str:
    """:func:`new_session` in ``conn``'s transaction."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        web_sessions.insert().values(
            token_sha256=_digest(token),
            user_name=user.name,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


async def load_session(
    engine: AsyncEngine, token: str, *, now: datetime, idle: timedelta, lifetime: timedelta
) -> Session | None:
    """The live session of ``token`` (its use recorded), or None; an expired one is ended."""
    if not token or len(token) > 100:
        return None
    key = _digest(token)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    web_sessions,
                    users.c.role,
                    users.c.revoked_at,
                    users.c.created_at.label("user_created_at"),
                )
                .join(users, users.c.name == web_sessions.c.user_name)
                .where(web_sessions.c.token_sha256 == key)
            )
        ).first()
    if row is None:
        return None
    seen, created = aware(row.last_seen_at), aware(row.created_at)
    if row.revoked_at is not None or now - seen > idle or now - created > lifetime:
        await end_session(engine, token)
        return None
    if now - seen > TOUCH_EVERY:
        async with engine.begin() as conn:
            await conn.execute(
                update(web_sessions)
                .where(web_sessions.c.token_sha256 == key)
                .values(last_seen_at=now)
            )
    return Session(StaffUser(row.user_name, row.role, row.user_created_at), row.csrf)


async def end_session(engine: AsyncEngine, token: str) -> None:
    """Sign one browser out."""
    async with engine.begin() as conn:
        await conn.execute(
            delete(web_sessions).where(web_sessions.c.token_sha256 == _digest(token))
        )


async def end_sessions(conn: AsyncConnection, user_name: str) -> None:
    """Sign a user out everywhere (a new password, a revoked user), in ``conn``'s transaction."""
    await conn.execute(delete(web_sessions).where(web_sessions.c.user_name == user_name))
