"""RFC 8785 (JCS) canonical JSON, used for everything that is signed or hashed."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import rfc8785

from hub.protocol.errors import ProtocolError

__all__ = ["b64decode", "b64encode", "canonical_json", "sha256_hex"]


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ProtocolError(f"value cannot be canonicalised: {exc}") from None


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64encode(data: bytes) -> str:
    """Unpadded base64url, the encoding of every binary field on the wire."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, *, field: str = "value") -> bytes:
    """Strictly decode unpadded base64url; anything else is ``bad-base64``."""
    if (
        not isinstance(text, str) or len(text) % 4 == 1 or "=" in text or "+" in text or "/" in text
    ):  # b64decode would take the standard alphabet's '+' and '/'
        raise ProtocolError(f"{field} is not unpadded base64url", code="bad-base64")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{field} is not unpadded base64url", code="bad-base64") from None
    tail = len(text) % 4  # 2 or 3 characters in the last group carry 4 or 2 unused bits
    if tail and _B64URL.index(text[-1]) & (0b1111 if tail == 2 else 0b11):
        raise ProtocolError(f"{field} is not canonical base64url", code="bad-base64")
    return raw
