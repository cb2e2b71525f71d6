"""RFC 8785 (JCS) canonical JSON, used for everything that is signed or hashed."""

from __future__ import annotations

import binascii
import hashlib
import json
from typing import Any, Final

import rfc8785

from hub.protocol.errors import ProtocolError

__all__ = ["b64decode", "b64encode", "b64encode_ascii", "canonical_json", "sha256_hex"]


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
_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_PADDING: Final = (b"", b"===", b"==", b"=")  # by len % 4 of the unpadded text


def b64encode(data: bytes) -> str:
    """Unpadded base64url, the encoding of every binary field on the wire."""
    return b64encode_ascii(data).decode("ascii")


def b64encode_ascii(data: bytes) -> bytes:
    """:func:`b64encode` as ASCII bytes, for wire bytes built directly."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def b64decode(text: str, *, field: str = "value") -> bytes:
    """Strictly decode unpadded base64url; anything else is ``bad-base64``.

    Only the 64 base64url characters are taken (no padding, whitespace or the standard
    alphabet's ``+`` and ``/``), and the unused low bits of the last character must be
    zero, so each byte string has exactly one accepted encoding.
    """
    if not isinstance(text, str) or not text.isascii() or len(text) % 4 == 1:
        raise ProtocolError(f"{field} is not unpadded base64url", code="bad-base64")
    data = text.encode("ascii")
    if b"=" in data or b"+" in data or b"/" in data:  # '+' and '/' would pass the translation
        raise ProtocolError(f"{field} is not unpadded base64url", code="bad-base64")
    try:
        # strict_mode: any character outside the (translated) alphabet is an error.
        raw = binascii.a2b_base64(
            data.translate(_TO_STANDARD) + _PADDING[len(data) % 4], strict_mode=True
        )
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{field} is not unpadded base64url", code="bad-base64") from None
    tail = len(text) % 4  # 2 or 3 characters in the last group carry 4 or 2 unused bits
    if tail and _B64URL.index(text[-1]) & (0b1111 if tail == 2 else 0b11):
        raise ProtocolError(f"{field} is not canonical base64url", code="bad-base64")
    return raw
