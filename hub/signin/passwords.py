"""Staff passwords for the web UI: Argon2id hashes (``hub.secrets``), checked off the loop.

Five wrong passwords or second factors in a row lock a user's sign-in for five minutes;
a completed sign-in resets the count (for a user with a second factor, a right password
alone does not: else a password-holder could guess codes forever, four at a time).
Nothing here says whether a user exists: a wrong name and a wrong password get the same
answer.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.crypto.keyfile import STRENGTHS
from hub.protocol.errors import HubError, ProtocolError
from hub.secrets import check_off_loop, hash_secret
from hub.signin.attempts import end_attempts
from hub.signin.sessions import aware, end_sessions
from hub.signin.tables import user_passwords
from hub.users import StaffUser
from hub.users.tables import users

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "check_password",
    "clear_failures",
    "count_failure",
    "decoy_hash",
    "lock_for_check",
    "set_password",
]

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 200
LOCK_AFTER: Final = 5
LOCK_FOR: Final = timedelta(minutes=5)


@functools.cache
def decoy_hash(strength: str) -> str:
    """Verified against when the name is unknown: made once per strength with the same
    Argon2id parameters as a real password's, so an unknown name costs the same work."""
    ops, mem = STRENGTHS[strength]
    return hash_secret("not a password", opslimit=ops, memlimit=mem)


def _check_rules(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ProtocolError(f"a password is {MIN_LENGTH} to {MAX_LENGTH} characters")
    if password.strip() != password or not password.isprintable():
        raise ProtocolError("a password has no leading or trailing spaces or control characters")


async def set_password(
    engine: AsyncEngine, name: str, password: str, *, now: datetime, strength: str = "moderate"
) -> None:
    """Set (or replace) an active user's web password; their web sessions end."""
    _check_rules(password)
    ops, mem = STRENGTHS[strength]
    hashed = await asyncio.to_thread(hash_secret, password, opslimit=ops, memlimit=mem)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(users.c.name).where(users.c.name == name, users.c.revoked_at.is_(None))
            )
        ).first()
        if row is None:
            raise HubError(f"no active user {name}", code="not-found")
        await conn.execute(user_passwords.delete().where(user_passwords.c.user_name == name))
        await conn.execute(
            user_passwords.insert().values(
                user_name=name, password_hash=hashed, set_at=now, failed=0
            )
        )
        await end_sessions(conn, name)
        await end_attempts(conn, name)


async def lock_for_check(conn: AsyncConnection, name: str, *, now: datetime) -> bool:
    """Lock ``name``'s sign-in row for this transaction; True if sign-in is open (not
    locked out), False if locked or they have no password."""
    state = (
        await conn.execute(
            select(user_passwords.c.locked_until)
            .where(user_passwords.c.user_name == name)
            .with_for_update()
        )
    ).first()
    return state is not None and (state.locked_until is None or aware(state.locked_until) <= now)


async def count_failure(conn: AsyncConnection, name: str, *, now: datetime) -> bool:
    """Count a failed try (password or second factor) in ``conn``'s transaction, after
    :func:`lock_for_check`; True if this one locked sign-in (its login attempts end)."""
    failed = await conn.scalar(
        select(user_passwords.c.failed).where(user_passwords.c.user_name == name)
    )
    count = (failed or 0) + 1
    locked = count >= LOCK_AFTER
    values: dict[str, object] = (
        {"failed": 0, "locked_until": now + LOCK_FOR} if locked else {"failed": count}
    )
    await conn.execute(
        update(user_passwords).where(user_passwords.c.user_name == name).values(**values)
    )
    if locked:
        await end_attempts(conn, name)
    return locked


async def clear_failures(conn: AsyncConnection, name: str) -> None:
    """A completed sign-in: the count of failed tries starts again."""
    await conn.execute(
        update(user_passwords)
        .where(user_passwords.c.user_name == name)
        .values(failed=0, locked_until=None)
    )


async def check_password(
    engine: AsyncEngine,
    name: str,
    password: str,
    *,
    now: datetime,
    strength: str = "moderate",
    keep_failures: bool = False,
) -> StaffUser | None:
    """The active user ``name`` if ``password`` is theirs and sign-in is not locked.

    Argon2id runs in a thread, outside any transaction; the lock is then decided in the
    write transaction that records the outcome, so concurrent tries cannot slip past it.
    A right password resets the count of failures unless ``keep_failures`` (a second
    factor is still to come).
    """
    if not name or len(name) > 64 or not password or len(password) > MAX_LENGTH:
        return None
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(users, user_passwords.c.password_hash)
                .join(user_passwords, user_passwords.c.user_name == users.c.name)
                .where(users.c.name == name, users.c.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        decoy = await asyncio.to_thread(decoy_hash, strength)
        await check_off_loop(decoy, password)
        return None
    good = await check_off_loop(row.password_hash, password)
    async with engine.begin() as conn:
        state = (
            await conn.execute(
                select(user_passwords.c.failed, user_passwords.c.locked_until)
                .where(
                    user_passwords.c.user_name == name,
                    user_passwords.c.password_hash == row.password_hash,
                )
                .with_for_update()
            )
        ).first()
        if state is None:  # the password was changed meanwhile
            return None
        locked = state.locked_until is not None and aware(state.locked_until) > now
        if locked:
            return None
        if good:
            if not keep_failures:
                await clear_failures(conn, name)
            return StaffUser(row.name, row.role, row.created_at)
        await count_failure(conn, name, now=now)
    return None
