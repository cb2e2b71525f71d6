"""Staff sign-in to the web UI: check a password (with its lock-out), then either start a
session or, for a member of staff who signs in with a second factor, open a login attempt
(``hub.app.second_factors`` completes it); load and end a session. Not a use-case of the
table: no one is signed in yet, or the session is the credential being checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hub.app.runtime import Runtime
from hub.app.second_factors import second_step_for
from hub.signin.attempts import Stage, new_attempt
from hub.signin.passwords import check_password
from hub.signin.sessions import Session, end_session, load_session, new_session, same_token
from hub.users import StaffUser

__all__ = ["SignIn", "Session", "StaffUser", "same_token", "session_of", "sign_in", "sign_out"]


@dataclass(frozen=True, slots=True)
class SignIn:
    """A right password: a session's cookie token, or (``stage`` set) a login attempt's
    token waiting for a second factor (``verify``) or its enrolment (``enrol``)."""

    user: StaffUser
    token: str
    stage: Stage | None


async def sign_in(rt: Runtime, name: str, password: str, next_path: str = "") -> SignIn | None:
    """Check ``name``'s password; None if wrong, unknown or locked."""
    now = rt.clock()
    stage = await second_step_for(rt, name) if name and len(name) <= 64 else None
    user = await check_password(
        rt.engine,
        name,
        password,
        now=now,
        strength=rt.settings.password_strength,
        keep_failures=stage is not None,
    )
    if user is None:
        return None
    if stage is None:
        return SignIn(user, await new_session(rt.engine, user, now=now), None)
    async with rt.engine.begin() as conn:
        token = await new_attempt(conn, user, stage, next_path, now=now)
    return SignIn(user, token, stage)


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
