"""TOTP second factors (RFC 6238, by ``pyotp``): 30-second steps, 6 digits, HMAC-SHA-1 (what
every authenticator app reads from a QR code).

A code is accepted for the step before, the current one or the one after (clocks drift),
and never for a step at or before the last one accepted for that user: a code seen over a
shoulder or replayed from a form cannot be used again. The secret is stored encrypted
under the hub's key-encryption key, bound to its user (a copy of the database alone
does not give anyone's codes).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Final

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.crypto.at_rest import KeyEncryptionKey
from hub.protocol.errors import HubError
from hub.signin.tables import staff_totp

__all__ = [
    "STEP_SECONDS",
    "check_totp",
    "confirm_totp",
    "has_totp",
    "matching_step",
    "normal_code",
    "provisioning_uri",
    "remove_totp",
    "start_totp",
]

STEP_SECONDS: Final = 30
DIGITS: Final = 6
WINDOW: Final = 1  # steps either side of now


def normal_code(code: str) -> str | None:
    """The 6 digits of a typed code (spaces allowed), or None if it is not one."""
    digits = code.replace(" ", "")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def matching_step(secret: str, code: str, *, now: datetime, after: int | None) -> int | None:
    """The time-step near ``now`` whose code is ``code`` and which is later than ``after``."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), code.encode()) and (
            after is None or step > after
        ):
            found = step
    return found


def _record(name: str) -> str:
    return f"staff-totp:{name}"


def _seal(kek: KeyEncryptionKey, name: str, secret: str) -> bytes:
    return kek.wrap(secret.encode(), _record(name))


def _open(kek: KeyEncryptionKey, name: str, sealed: bytes) -> str:
    return kek.unwrap(bytes(sealed), _record(name)).decode()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the enrolment QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


async def has_totp(conn: AsyncConnection, name: str) -> bool:
    """True if ``name`` has a confirmed TOTP factor."""
    found = await conn.scalar(
        select(staff_totp.c.user_name).where(
            staff_totp.c.user_name == name, staff_totp.c.confirmed_at.is_not(None)
        )
    )
    return found is not None


async def start_totp(
    conn: AsyncConnection, name: str, kek: KeyEncryptionKey, *, now: datetime
) -> str:
    """The secret ``name`` is enrolling (a new one unless one waits for confirmation);
    ``conflict`` if they already have a confirmed one."""
    row = (
        await conn.execute(
            select(staff_totp.c.secret_sealed, staff_totp.c.confirmed_at).where(
                staff_totp.c.user_name == name
            )
        )
    ).first()
    if row is not None and row.confirmed_at is not None:
        raise HubError("an authenticator app is already set up", code="conflict")
    if row is not None:
        return _open(kek, name, row.secret_sealed)
    secret = pyotp.random_base32()  # 160 bits
    await conn.execute(
        staff_totp.insert().values(
            user_name=name, secret_sealed=_seal(kek, name, secret), created_at=now
        )
    )
    return secret


async def confirm_totp(
    conn: AsyncConnection, name: str, kek: KeyEncryptionKey, code: str, *, now: datetime
) -> bool:
    """Finish enrolment if ``code`` is the current code of the waiting secret."""
    row = (
        await conn.execute(
            select(staff_totp.c.secret_sealed)
            .where(staff_totp.c.user_name == name, staff_totp.c.confirmed_at.is_(None))
            .with_for_update()
        )
    ).first()
    digits = normal_code(code)
    if row is None or digits is None:
        return False
    step = matching_step(_open(kek, name, row.secret_sealed), digits, now=now, after=None)
    if step is None:
        return False
    await conn.execute(
        update(staff_totp)
        .where(staff_totp.c.user_name == name)
        .values(confirmed_at=now, last_step=step)
    )
    return True


async def check_totp(
    conn: AsyncConnection, name: str, kek: KeyEncryptionKey, code: str, *, now: datetime
) -> bool:
    """True if ``code`` is ``name``'s for a step not used before; that step is then the
    last used (in ``conn``'s transaction, the row locked, so two tries cannot both pass)."""
    digits = normal_code(code)
    if digits is None:
        return False
    row = (
        await conn.execute(
            select(staff_totp.c.secret_sealed, staff_totp.c.last_step)
            .where(staff_totp.c.user_name == name, staff_totp.c.confirmed_at.is_not(None))
            .with_for_update()
        )
    ).first()
    if row is None:
        return False
    secret = _open(kek, name, row.secret_sealed)
    step = matching_step(secret, digits, now=now, after=row.last_step)
    if step is None:
        return False
    done = await conn.execute(
        update(staff_totp)
        .where(staff_totp.c.user_name == name, staff_totp.c.last_step == row.last_step)
        .values(last_step=step)
    )
    return done.rowcount == 1


async def remove_totp(conn: AsyncConnection, name: str) -> bool:
    """Remove ``name``'s TOTP factor (confirmed or not); True if there was one."""
    done = await conn.execute(delete(staff_totp).where(staff_totp.c.user_name == name))
    return bool(done.rowcount)
