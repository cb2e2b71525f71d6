"""One-time recovery codes: for the day a member of staff's phone or security key is lost.

Ten codes of 16 base32 characters (80 random bits each), shown once. Stored as SHA-256 of
the user's name and the code: a code is a random 80-bit secret, not a password a person
chose, so there is no dictionary to slow down and a slow hash (Argon2id) would add
nothing but the cost of trying each of ten hashes at every use; a plain hash lets the
database find the one row and mark it used in one statement.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime
from typing import Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.signin.tables import staff_recovery_codes

__all__ = ["COUNT", "normal_code", "remove_codes", "replace_codes", "unused_codes", "use_code"]

COUNT: Final = 10
LENGTH: Final = 16
_ALPHABET: Final = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def _new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normal_code(code: str) -> str | None:
    """A typed recovery code without dashes or spaces, lower case; None if it cannot be one."""
    plain = code.replace("-", "").replace(" ", "").lower()
    return plain if len(plain) == LENGTH and set(plain) <= _ALPHABET else None


def _digest(name: str, plain: str) -> str:
    return hashlib.sha256(f"marac-hub recovery\0{name}\0{plain}".encode()).hexdigest()


async def replace_codes(conn: AsyncConnection, name: str, *, now: datetime) -> list[str]:
    """New codes for ``name`` (any old ones stop working); the codes, to be shown once."""
    codes = [_new_code() for _ in range(COUNT)]
    await remove_codes(conn, name)
    await conn.execute(
        staff_recovery_codes.insert(),
        [
            {
                "user_name": name,
                "code_sha256": _digest(name, normal_code(c) or ""),
                "created_at": now,
            }
            for c in codes
        ],
    )
    return codes


async def use_code(conn: AsyncConnection, name: str, code: str, *, now: datetime) -> bool:
    """True if ``code`` is one of ``name``'s unused codes; it is used from now on."""
    plain = normal_code(code)
    if plain is None:
        return False
    done = await conn.execute(
        update(staff_recovery_codes)
        .where(
            staff_recovery_codes.c.user_name == name,
            staff_recovery_codes.c.code_sha256 == _digest(name, plain),
            staff_recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return done.rowcount == 1


async def unused_codes(conn: AsyncConnection, name: str) -> int:
    """How many of ``name``'s recovery codes are left."""
    count = await conn.scalar(
        select(func.count()).where(
            staff_recovery_codes.c.user_name == name, staff_recovery_codes.c.used_at.is_(None)
        )
    )
    return int(count or 0)


async def remove_codes(conn: AsyncConnection, name: str) -> int:
    """Remove all of ``name``'s recovery codes; how many there were."""
    done = await conn.execute(
        delete(staff_recovery_codes).where(staff_recovery_codes.c.user_name == name)
    )
    return int(done.rowcount or 0)
