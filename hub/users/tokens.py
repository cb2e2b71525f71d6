"""Staff API bearer tokens (``mht_<id>_<secret>``): issued, listed, revoked, and checked.

A token belongs to one user, expires, and may be narrowed to a role at most the user's
and to some of their areas. It never exceeds its user: the check reads the user's row and
the token's on every use (no cache of either), so a revoked token or user is refused at
once by every process, and a user's smaller role or fewer areas shrink their tokens too.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.protocol.errors import HubError
from hub.secrets import check_off_loop, hash_secret, new_secret, token_id
from hub.users.tables import staff_tokens, users

__all__ = [
    "DEFAULT_LIFETIME",
    "LONGEST_LIFETIME",
    "PREFIX",
    "Bearer",
    "Issued",
    "TokenCache",
    "TokenInfo",
    "issue_token",
    "list_tokens",
    "revoke_tokens",
    "role_within",
]

PREFIX: Final = "mht_"
DEFAULT_LIFETIME: Final = timedelta(days=90)
LONGEST_LIFETIME: Final = timedelta(days=366)
_USE_NOTED_EVERY: Final = timedelta(minutes=1)  # last_used_at is written at most this often


def role_within(role: str, user_role: str) -> bool:
    """True if ``role`` is at most ``user_role`` (an admin may narrow to any role)."""
    return user_role in (role, "admin")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Issued:
    """A token just made: the secret (shown once) and its id and expiry."""

    token: str
    id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a listing shows of a token: never its secret."""

    id: str
    user_name: str
    label: str | None
    role: str | None  # None: the user's role
    areas: tuple[str, ...] | None  # None: the user's areas
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The token as the API lists it."""
        return {
            "id": self.id,
            "prefix": f"{PREFIX}{self.id}_",
            "user": self.user_name,
            "label": self.label,
            "role": self.role,
            "areas": list(self.areas) if self.areas is not None else None,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "expires_at": self.expires_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "state": self.state(now),
        }


@dataclass(frozen=True, slots=True)
class Bearer:
    """Who a good token speaks for, as narrowed by its scope."""

    name: str
    role: str  # the token's role (at most the user's)
    user_role: str  # the user's own role now
    area_limit: frozenset[str] | None  # the token's areas; None: the user's
    created_at: datetime
    token_id: str


async def issue_token(
    conn: AsyncConnection,
    user_name: str,
    *,
    now: datetime,
    expires_at: datetime,
    created_by: str,
    role: str | None = None,
    areas: tuple[str, ...] | None = None,
    label: str | None = None,
    ident: str | None = None,
) -> Issued:
    """Store a new token for ``user_name`` (its scope already checked) and return it."""
    if expires_at <= now:
        raise HubError("a token must expire in the future", code="malformed")
    if expires_at - now > LONGEST_LIFETIME:
        raise HubError(f"a token lives at most {LONGEST_LIFETIME.days} days", code="malformed")
    if label is not None and (not label or len(label) > 64 or not label.isprintable()):
        raise HubError("a token's label is 1-64 printable characters", code="malformed")
    ident, secret = ident or token_id(), new_secret()
    await conn.execute(
        staff_tokens.insert().values(
            id=ident,
            user_name=user_name,
            token_hash=hash_secret(secret),
            role=role,
            areas=json.dumps(sorted(areas)) if areas is not None else None,
            label=label,
            created_at=now,
            created_by=created_by,
            expires_at=expires_at,
        )
    )
    return Issued(f"{PREFIX}{ident}_{secret}", ident, expires_at)


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user_name=row.user_name,
        label=row.label,
        role=row.role,
        areas=tuple(json.loads(row.areas)) if row.areas is not None else None,
        created_at=_aware(row.created_at),
        created_by=row.created_by,
        expires_at=_aware(row.expires_at),
        last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )


async def list_tokens(conn: AsyncConnection, user_name: str) -> list[TokenInfo]:
    """Every token of ``user_name``, newest first (revoked and expired ones included)."""
    rows = await conn.execute(
        select(staff_tokens)
        .where(staff_tokens.c.user_name == user_name)
        .order_by(staff_tokens.c.created_at.desc(), staff_tokens.c.id)
    )
    return [_info(r) for r in rows]


async def revoke_tokens(
    conn: AsyncConnection, user_name: str, *, now: datetime, token: str | None = None
) -> int:
    """Revoke ``token`` (an id, or ``mht_<id>_…``) of ``user_name``, or every token of
    theirs not yet revoked when ``token`` is None; the number revoked."""
    where = [staff_tokens.c.user_name == user_name, staff_tokens.c.revoked_at.is_(None)]
    if token is not None:
        ident = token.removeprefix(PREFIX).partition("_")[0]
        where.append(staff_tokens.c.id == ident)
    result = await conn.execute(update(staff_tokens).where(*where).values(revoked_at=now))
    if token is not None and result.rowcount == 0:
        raise HubError(f"{user_name} has no unrevoked token {token[:40]!r}", code="not-found")
    return int(result.rowcount)


class TokenCache:
    """Checks bearer tokens. A good token's Argon2id check is remembered for ``ttl``
    seconds, but every use still reads the user's and the token's rows (one indexed
    query): a revocation, by any process, refuses the token at once everywhere."""

    def __init__(self, engine: AsyncEngine, ttl: float = 300.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._good: dict[str, tuple[float, str]] = {}  # SHA-256 of the token: expiry, hash

    def forget(self) -> None:
        """Drop every remembered check (the next use of each token runs Argon2id again)."""
        self._good.clear()

    async def authenticate(self, token: str, *, now: datetime | None = None) -> Bearer | None:
        """Who ``token`` speaks for, or None (unknown, wrong, revoked, or narrowed to a role
        its user no longer holds). An expired token, once its secret is checked, raises
        ``unauthorized`` saying so."""
        if not token.startswith(PREFIX) or len(token) > 200 or token.count("_") < 2:
            return None
        ident, _, secret = token[len(PREFIX) :].partition("_")
        query = (
            select(
                staff_tokens,
                users.c.role.label("user_role"),
                users.c.created_at.label("user_created_at"),
                users.c.revoked_at.label("user_revoked_at"),
            )
            .join(users, users.c.name == staff_tokens.c.user_name)
            .where(staff_tokens.c.id == ident)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or row.revoked_at is not None or row.user_revoked_at is not None:
            return None
        if not await self._secret_matches(token, secret, row.token_hash):
            return None
        now = now or datetime.now(UTC)
        expires = _aware(row.expires_at)
        if expires <= now:
            raise HubError(
                f"this token expired on {expires:%Y-%m-%d %H:%M} UTC; ask for a new one",
                code="unauthorized",
            )
        role = row.role or row.user_role
        if not role_within(role, row.user_role):
            return None
        if row.last_used_at is None or _aware(row.last_used_at) <= now - _USE_NOTED_EVERY:
            await self._note_use(ident, now)
        limit = frozenset(json.loads(row.areas)) if row.areas is not None else None
        return Bearer(row.user_name, role, row.user_role, limit, row.user_created_at, ident)

    async def _secret_matches(self, token: str, secret: str, hashed: str) -> bool:
        key = hashlib.sha256(token.encode()).hexdigest()
        hit = self._good.get(key)
        if hit is not None and hit[0] > time.monotonic() and hit[1] == hashed:
            return True
        if not await check_off_loop(hashed, secret):
            return False
        if len(self._good) > 10_000:
            self._good.clear()
        self._good[key] = (time.monotonic() + self._ttl, hashed)
        return True

    async def _note_use(self, ident: str, now: datetime) -> None:
        cutoff = now - _USE_NOTED_EVERY
        async with self._engine.begin() as conn:
            await conn.execute(
                update(staff_tokens)
                .where(
                    staff_tokens.c.id == ident,
                    (staff_tokens.c.last_used_at.is_(None))
                    | (staff_tokens.c.last_used_at <= cutoff),
                )
                .values(last_used_at=now)
            )
