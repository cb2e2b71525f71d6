"""Staff tokens and enrolment codes: random secrets stored only as Argon2id hashes."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import nacl.exceptions
import nacl.pwhash

from hub.protocol.canonical import b64encode

__all__ = ["check_off_loop", "hash_secret", "new_secret", "token_id", "verify_secret"]

# Tokens and codes carry 256 random bits, so memory-hard parameters buy little; these keep
# each check near 10 ms. Passwords (typed by people) use libsodium's MODERATE instead.
_OPS: Final = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
_MEM: Final = 16 * 1024 * 1024


def new_secret() -> str:
    """A fresh 256-bit secret, base64url."""
    return b64encode(os.urandom(32))


def hash_secret(secret: str, *, opslimit: int = _OPS, memlimit: int = _MEM) -> str:
    """Argon2id hash string of ``secret``."""
    hashed: bytes = nacl.pwhash.argon2id.str(secret.encode(), opslimit=opslimit, memlimit=memlimit)
    return hashed.decode("ascii")


def verify_secret(hashed: str, secret: str) -> bool:
    """True if ``secret`` matches the Argon2id ``hashed``."""
    try:
        return bool(nacl.pwhash.argon2id.verify(hashed.encode("ascii"), secret.encode()))
    except (nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError, ValueError):
        return False


# Argon2id checks anyone may trigger (sign-in, enrolment) run here, a few at a time, so a
# stream of wrong guesses can use only part of the machine and never the event loop.
_GUESSES: Final = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="argon2"
)


async def check_off_loop(hashed: str, secret: str) -> bool:
    """:func:`verify_secret` on the bounded pool for unauthenticated guesses."""
    return await asyncio.get_running_loop().run_in_executor(_GUESSES, verify_secret, hashed, secret)


def token_id() -> str:
    """A short public identifier for a token row."""
    return secrets.token_hex(8)
