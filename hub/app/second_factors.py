"""Second factors of staff sign-in: the rules.

* Roles named by ``mfa_required_roles`` (default: all staff) must have a factor; anyone
  who has one is always asked for it. A right password then opens only a login attempt
  (``hub.signin.attempts``): a second step, or the forced enrolment of an authenticator
  app, and no session until that is done.
* Factors: TOTP (``hub.signin.totp``), passkeys (``hub.signin.passkeys``), and ten
  one-time recovery codes (``hub.signin.recovery``) given with the first factor.
* A wrong code or passkey counts towards the same lock-out as a wrong password, decided
  in the transaction that checks it; the attempt is used once.
* A member of staff may remove their own factors (a replaced phone); whoever has none
  while their role requires one enrols again at their next sign-in. An admin resets a
  member of staff's factors (``user.reset-factors``, a lost phone) the same way.

Events (enrolled, removed, failed, recovery code used, reset, locked) go to the
``hub.signin`` log naming the user only by a reference (a hash of their name).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.app.actor import Actor
from hub.app.catalogue import use_case
from hub.app.runtime import Runtime
from hub.protocol.errors import HubError, ProtocolError
from hub.settings import Settings
from hub.signin import passkeys, recovery, totp
from hub.signin.attempts import Attempt, Stage, end_attempt, end_attempts, load_attempt
from hub.signin.passkeys import Passkey, RelyingParty
from hub.signin.passwords import clear_failures, count_failure, lock_for_check
from hub.signin.sessions import end_sessions, open_session
from hub.users import StaffUser
from hub.users.tables import users

__all__ = [
    "Attempt",
    "Factors",
    "Finished",
    "Passkey",
    "RelyingParty",
    "add_passkey",
    "attempt_of",
    "confirm_totp",
    "enrolment_secret",
    "factors_of",
    "finish_enrolment",
    "finish_with_code",
    "finish_with_passkey",
    "new_recovery_codes",
    "passkey_login_options",
    "passkey_registration_options",
    "relying_party",
    "remove_passkey",
    "remove_totp",
    "reset_factors",
    "second_step_for",
    "staff_ref",
    "start_totp",
]

log = logging.getLogger("hub.signin")
ISSUER: Final = "marac-hub"


@dataclass(frozen=True, slots=True)
class Finished:
    """A completed sign-in: who, their session's cookie token, where to go."""

    user: StaffUser
    session: str
    next_path: str


@dataclass(frozen=True, slots=True)
class Factors:
    """A member of staff's second factors, as their account page shows them."""

    totp: bool
    passkeys: list[Passkey]
    recovery_left: int
    required: bool

    @property
    def any(self) -> bool:
        """True if they have a factor to sign in with."""
        return self.totp or bool(self.passkeys)


def staff_ref(name: str) -> str:
    """How the application log names a member of staff: a short hash, not the name."""
    return "u-" + hashlib.sha256(f"marac-hub staff\0{name}".encode()).hexdigest()[:12]


def relying_party(settings: Settings, host: str) -> RelyingParty | None:
    """The hub as WebAuthn relying party: from ``public_url``; else, only for a browser on
    ``localhost`` (``host`` is the request's Host), that; else None (no passkeys)."""
    name = f"{ISSUER} ({settings.hub_id})"
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        if parts.hostname is None:
            return None
        return RelyingParty(parts.hostname, f"{parts.scheme}://{parts.netloc}", name)
    hostname = urlsplit(f"//{host}").hostname if host and len(host) < 300 else None
    if hostname != "localhost":
        return None
    return RelyingParty("localhost", f"http://{host}", name)


async def _has_factor(conn: AsyncConnection, name: str) -> bool:
    return await totp.has_totp(conn, name) or bool(await passkeys.passkeys_of(conn, name))


async def second_step_for(rt: Runtime, name: str) -> Stage | None:
    """What a right password for ``name`` leads to: ``verify`` (they have a factor),
    ``enrol`` (their role needs one and they have none) or None (a session at once)."""
    async with rt.engine.connect() as conn:
        role = await conn.scalar(select(users.c.role).where(users.c.name == name))
        if role is None:
            return None
        if await _has_factor(conn, name):
            return "verify"
    return "enrol" if role in rt.settings.mfa_required_roles else None


async def attempt_of(rt: Runtime, token: str, stage: Stage) -> Attempt | None:
    """The live login attempt ``token`` opens, if it waits for ``stage``."""
    async with rt.engine.connect() as conn:
        found = await load_attempt(conn, token, now=rt.clock())
    return found if found is not None and found.stage == stage else None


async def _complete(conn: AsyncConnection, rt: Runtime, attempt: Attempt) -> Finished | None:
    """End ``attempt`` (once) and open the session, in ``conn``'s transaction."""
    if not await end_attempt(conn, attempt.key):
        return None
    await clear_failures(conn, attempt.user.name)
    session = await open_session(conn, attempt.user, now=rt.clock())
    return Finished(attempt.user, session, attempt.next_path)


async def _failed(conn: AsyncConnection, rt: Runtime, name: str, kind: str) -> None:
    locked = await count_failure(conn, name, now=rt.clock())
    log.warning("second factor failed kind=%s user=%s", kind, staff_ref(name))
    if locked:
        log.warning("sign-in locked after repeated failures user=%s", staff_ref(name))


async def finish_with_code(rt: Runtime, token: str, code: str) -> Finished | None:
    """Complete a sign-in with a TOTP code or a recovery code; None if wrong, replayed,
    the attempt is gone, or sign-in is locked (a wrong code counts towards the lock)."""
    now, kek = rt.clock(), rt.keys.kek  # the keys read before the transaction
    async with rt.engine.begin() as conn:
        attempt = await load_attempt(conn, token, now=now)
        if attempt is None or attempt.stage != "verify":
            return None
        name = attempt.user.name
        if not await lock_for_check(conn, name, now=now):
            return None
        if totp.normal_code(code) is not None:
            good, kind = await totp.check_totp(conn, name, kek, code, now=now), "totp"
        else:
            good, kind = await recovery.use_code(conn, name, code, now=now), "recovery"
        if not good:
            await _failed(conn, rt, name, kind)
            return None
        if kind == "recovery":
            left = await recovery.unused_codes(conn, name)
            log.warning("recovery code used user=%s left=%d", staff_ref(name), left)
        return await _complete(conn, rt, attempt)


async def passkey_login_options(rt: Runtime, token: str, rp: RelyingParty) -> str | None:
    """The options for ``navigator.credentials.get`` for this attempt's user (None if the
    attempt is gone or they have no passkey); the challenge is bound to the attempt."""
    async with rt.engine.begin() as conn:
        attempt = await load_attempt(conn, token, now=rt.clock())
        if attempt is None or attempt.stage != "verify":
            return None
        return await passkeys.authentication_options(
            conn, attempt.user.name, attempt.key, rp, now=rt.clock()
        )


async def finish_with_passkey(
    rt: Runtime, token: str, credential: str, rp: RelyingParty
) -> Finished | None:
    """Complete a sign-in with a passkey's answer to this attempt's challenge."""
    now = rt.clock()
    async with rt.engine.begin() as conn:
        attempt = await load_attempt(conn, token, now=now)
        if attempt is None or attempt.stage != "verify":
            return None
        name = attempt.user.name
        if not await lock_for_check(conn, name, now=now):
            return None
        if not await passkeys.authenticate(conn, name, attempt.key, credential, rp, now=now):
            await _failed(conn, rt, name, "passkey")
            return None
        return await _complete(conn, rt, attempt)


async def enrolment_secret(rt: Runtime, attempt: Attempt) -> tuple[str, str]:
    """The TOTP secret a forced enrolment shows (kept until confirmed) and its URI."""
    return await start_totp(rt, attempt.user)


async def finish_enrolment(rt: Runtime, token: str, code: str) -> tuple[Finished, list[str]] | None:
    """Confirm the authenticator app of a forced enrolment with a current code: the
    session and the recovery codes (shown once); None if wrong (counts towards the lock)."""
    now, kek = rt.clock(), rt.keys.kek
    async with rt.engine.begin() as conn:
        attempt = await load_attempt(conn, token, now=now)
        if attempt is None or attempt.stage != "enrol":
            return None
        name = attempt.user.name
        if not await lock_for_check(conn, name, now=now):
            return None
        if not await totp.confirm_totp(conn, name, kek, code, now=now):
            await _failed(conn, rt, name, "totp-enrolment")
            return None
        codes = await recovery.replace_codes(conn, name, now=now)
        finished = await _complete(conn, rt, attempt)
        if finished is None:  # used meanwhile: nothing of this try is kept
            raise HubError("this sign-in was already completed", code="conflict")
    log.info("second factor enrolled kind=totp user=%s", staff_ref(name))
    return finished, codes


# -- a signed-in member of staff's own factors ---------------------------------------


async def factors_of(rt: Runtime, user: StaffUser) -> Factors:
    """``user``'s second factors."""
    async with rt.engine.connect() as conn:
        return Factors(
            totp=await totp.has_totp(conn, user.name),
            passkeys=await passkeys.passkeys_of(conn, user.name),
            recovery_left=await recovery.unused_codes(conn, user.name),
            required=user.role in rt.settings.mfa_required_roles,
        )


async def start_totp(rt: Runtime, user: StaffUser) -> tuple[str, str]:
    """Begin (or show again) setting up an authenticator app: the secret and its URI."""
    kek = rt.keys.kek
    async with rt.engine.begin() as conn:
        secret = await totp.start_totp(conn, user.name, kek, now=rt.clock())
    issuer = f"{ISSUER} {rt.settings.hub_id}"
    return secret, totp.provisioning_uri(secret, user.name, issuer)


async def _first_codes(conn: AsyncConnection, rt: Runtime, name: str) -> list[str]:
    """Recovery codes for someone who has none left; else none (their codes stand)."""
    if await recovery.unused_codes(conn, name):
        return []
    return await recovery.replace_codes(conn, name, now=rt.clock())


async def confirm_totp(rt: Runtime, user: StaffUser, code: str) -> list[str] | None:
    """Finish setting up an authenticator app; new recovery codes if they had none left
    (else []); None if the code is wrong."""
    kek = rt.keys.kek
    async with rt.engine.begin() as conn:
        if not await totp.confirm_totp(conn, user.name, kek, code, now=rt.clock()):
            return None
        codes = await _first_codes(conn, rt, user.name)
    log.info("second factor enrolled kind=totp user=%s", staff_ref(user.name))
    return codes


async def new_recovery_codes(rt: Runtime, user: StaffUser) -> list[str]:
    """Ten new recovery codes (the old ones stop working); only with a factor."""
    async with rt.engine.begin() as conn:
        if not await _has_factor(conn, user.name):
            raise HubError("set up an authenticator app or a passkey first", code="conflict")
        codes = await recovery.replace_codes(conn, user.name, now=rt.clock())
    log.info("recovery codes replaced user=%s", staff_ref(user.name))
    return codes


async def passkey_registration_options(
    rt: Runtime, user: StaffUser, session_token: str, rp: RelyingParty
) -> str:
    """Options for ``navigator.credentials.create``; the challenge bound to the session."""
    async with rt.engine.begin() as conn:
        return await passkeys.registration_options(
            conn, user.name, _owner(session_token), rp, now=rt.clock()
        )


def _owner(session_token: str) -> str:
    return hashlib.sha256(f"session\0{session_token}".encode()).hexdigest()


async def add_passkey(
    rt: Runtime, user: StaffUser, session_token: str, credential: str, label: str, rp: RelyingParty
) -> list[str] | None:
    """Register a passkey from the browser's answer to this session's challenge; new
    recovery codes if they had none (else []); None if the answer is refused."""
    label = " ".join(label.split())[:64]
    if not label or not label.isprintable():
        raise ProtocolError("give the passkey a name (up to 64 characters)", code="malformed")
    async with rt.engine.begin() as conn:
        done = await passkeys.register(
            conn, user.name, _owner(session_token), credential, label, rp, now=rt.clock()
        )
        if not done:
            log.warning("passkey registration refused user=%s", staff_ref(user.name))
            return None
        codes = await _first_codes(conn, rt, user.name)
    log.info("second factor enrolled kind=passkey user=%s", staff_ref(user.name))
    return codes


async def remove_passkey(rt: Runtime, user: StaffUser, credential_id: str) -> bool:
    """Remove one of ``user``'s passkeys; True if they still have a factor (if not and
    their role needs one, they set one up again at their next sign-in at the latest)."""
    async with rt.engine.begin() as conn:
        if not await passkeys.remove_passkey(conn, user.name, credential_id[:1400]):
            raise HubError("no such passkey", code="not-found")
        left = await _has_factor(conn, user.name)
    log.info("second factor removed kind=passkey user=%s", staff_ref(user.name))
    return left


async def remove_totp(rt: Runtime, user: StaffUser) -> bool:
    """Remove ``user``'s authenticator app (a lost or replaced phone); True if they still
    have a factor."""
    async with rt.engine.begin() as conn:
        if not await totp.remove_totp(conn, user.name):
            raise HubError("no authenticator app is set up", code="not-found")
        left = await _has_factor(conn, user.name)
    log.info("second factor removed kind=totp user=%s", staff_ref(user.name))
    return left


@use_case("user.reset-factors", "admin")
async def reset_factors(rt: Runtime, actor: Actor, name: str) -> int:
    """Remove a member of staff's second factors and recovery codes and sign them out:
    they enrol again at their next sign-in. How many factors were removed."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ProtocolError("name a member of staff", code="malformed")
    async with rt.engine.begin() as conn:
        found = await conn.scalar(select(users.c.name).where(users.c.name == name))
        if found is None:
            raise HubError(f"no user {name}", code="not-found")
        removed = int(await totp.remove_totp(conn, name))
        removed += await passkeys.remove_passkeys(conn, name)
        await recovery.remove_codes(conn, name)
        await end_sessions(conn, name)
        await end_attempts(conn, name)
    log.warning(
        "second factors reset user=%s by=%s removed=%d", staff_ref(name), actor.role, removed
    )
    return removed
