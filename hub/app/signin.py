"""Staff sign-in to the web UI: check a password (with its lock-out), start, load and end a
session. Not a use-case of the table: no one is signed in yet, or the session is the
credential being checked."""

from __future__ import annotations

from datetime import timedelta

from hub.app.runtime import Runtime
from hub.signin.passwords import check_password
from hub.signin.sessions import Session, end_session, load_session, new_session, same_token
from hub.users import StaffUser

__all__ = ["Session", "StaffUser", "same_token", "session_of", "sign_in", "sign_out"]


async def sign_in(rt: Runtime, name: str, password: str) -> tuple[StaffUser, str] | None:
    """The user and a new session token, or None (wrong name or password, or locked)."""
    now = rt.clock()
    user = await check_password(
        rt.engine, name, password, now=now, strength=rt.settings.password_strength
    )
    if user is None:
        return None
    return user, await new_session(rt.engine, user, now=now)


async def session_of(rt: Runtime, token: str) -> Session | None:
    """The live session ``token`` opens (idle and lifetime limits from the settings)."""
    return await load_session(
        rt.engine,
        token,
        now=rt.clock(),
        idle=timedelta(minutes=rt.settings.web_idle_minutes),
        lifetime=timedelta(hours=rt.settings.web_session_hours),
    )


async def sign_out(rt: Runtime, token: str) -> None:
    """End the session ``token`` opens (nothing if none)."""
    await end_session(rt.engine, token)
