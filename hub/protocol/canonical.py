"""RFC 8785 (JCS) canonical JSON, used for everything that is signed or hashed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Final

import rfc8785

from hub.protocol.errors import ProtocolError

__all__ = ["b64decode", "b64encode", "canonical_json", "sha256_hex"]


_SAFE_INT: Final = 2**53
_fast = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
).encode


def _plain(value: Any) -> bool:
    """True if ``value`` is strings, safe ints, booleans, None, lists, tuples and objects
    with BMP-only string keys: then RFC 8785 is exactly sorted, compact ``json.dumps``."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if type(value) is int:
        return -_SAFE_INT < value < _SAFE_INT
    if isinstance(value, dict):
        return all(
            type(k) is str and (k.isascii() or max(k) <= "\uffff") and _plain(v)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False  # floats (RFC 8785's number form), and anything JSON cannot hold


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8 bytes).

    Values without floats (and with keys in the Basic Multilingual Plane, where code
    point order is UTF-16 order) take ``json``'s C encoder, which writes exactly the
    RFC 8785 bytes for them (tests/protocol/test_canonical.py checks it on hostile
    values); anything else, and any lone surrogate, goes through ``rfc8785``.
    """
    if _plain(value):
        try:
            return _fast(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it with its reason
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
