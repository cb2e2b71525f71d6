"""The workspace's one session: the one-time link, the cookie, CSRF, the lock and idle lock.

``agency-client ui`` prints ``http://127.0.0.1:PORT/open?token=T``. The token works once:
it is exchanged for a random session id in a cookie (HttpOnly, SameSite=Strict, Path=/)
and a CSRF token that every form posts back. Until the key passphrase is given the
workspace is locked; unlocked, it holds the identity key, the opened store and the
passphrase (for key rotation) in memory only, and forgets them again on "Lock", after
``idle`` without a request, or when the server stops.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from agency_client.datadir import DataDir
from agency_client.store import Store
from hub.crypto.keys import IdentityKeyPair

__all__ = ["COOKIE", "Guard", "Unlocked"]

COOKIE = "workspace"


@dataclass(slots=True)
class Unlocked:
    """What unlocking gives: held in memory only, dropped on lock."""

    identity: IdentityKeyPair
    store: Store
    passphrase: str


class Guard:
    """The token, the session, the CSRF token and the unlocked keys of one workspace."""

    def __init__(
        self,
        data: DataDir,
        *,
        idle: timedelta = timedelta(minutes=15),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.data = data
        self.idle = idle
        self.clock = clock
        self.token: str | None = secrets.token_urlsafe(32)
        self.session: str | None = None
        self.csrf = secrets.token_urlsafe(32)
        self.unlocked: Unlocked | None = None
        self.last_seen = clock()
        self.locked_reason: str | None = None
        self.flash: str | None = None  # one line for the next page (never content)
        self.port = 0
        self._unlocking = asyncio.Lock()
        self.sending = asyncio.Lock()  # one send at a time: a double click sends once

    @property
    def link(self) -> str:
        """The one-time link to print (only while the token is unused)."""
        return f"http://127.0.0.1:{self.port}/open?token={self.token}"

    def allowed_hosts(self) -> frozenset[str]:
        """The Host header values this server answers (no DNS rebinding)."""
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    def exchange(self, token: str) -> str | None:
        """A new session id for the one-time token, once; None for any other token."""
        if self.token is None or not hmac.compare_digest(token.encode(), self.token.encode()):
            return None
        self.token = None
        self.session = secrets.token_urlsafe(32)
        self.last_seen = self.clock()
        return self.session

    def is_session(self, cookie: str | None) -> bool:
        """True if ``cookie`` is this workspace's session."""
        return (
            cookie is not None
            and self.session is not None
            and hmac.compare_digest(cookie.encode(), self.session.encode())
        )

    def csrf_ok(self, sent: object) -> bool:
        """True if a form posted this session's CSRF token."""
        return isinstance(sent, str) and hmac.compare_digest(sent.encode(), self.csrf.encode())

    def touch(self) -> None:
        """A request came: lock first if it came after ``idle`` of silence."""
        now = self.clock()
        if self.unlocked is not None and now - self.last_seen >= self.idle.total_seconds():
            minutes = round(self.idle.total_seconds() / 60)
            self.lock(f"Locked after {minutes} minutes without use.")
        self.last_seen = now

    def lock_if_idle(self) -> None:
        """Lock if nothing came for ``idle`` (the timer's check, between requests)."""
        if self.unlocked is not None and self.clock() - self.last_seen >= self.idle.total_seconds():
            minutes = round(self.idle.total_seconds() / 60)
            self.lock(f"Locked after {minutes} minutes without use.")

    async def unlock(self, passphrase: str) -> None:
        """Open the identity key and the store; ``CryptoError`` for a wrong passphrase."""
        async with self._unlocking:
            if self.unlocked is not None:
                return
            identity, store = await asyncio.to_thread(self.data.unlock, passphrase)
            self.unlocked = Unlocked(identity, store, passphrase)
            self.locked_reason = None
            self.last_seen = self.clock()

    def lock(self, reason: str | None = None) -> None:
        """Close the store and drop the keys and the passphrase."""
        unlocked, self.unlocked = self.unlocked, None
        if unlocked is not None:
            unlocked.store.close()
        self.locked_reason = reason
