"""Signed tree heads of the disclosure log: (log, size, root, timestamp) signed with Ed25519.

The signature covers a domain-separated RFC 8785 encoding, so a tree-head signature can
never be mistaken for an envelope, receipt or request signature made with the same key::

    b"marac-hub tree head v1\\n" || canonical_json({"log", "root", "size", "timestamp"})

Wire form (JSON, as the API serves it and the agency client stores it)::

    {"log": "hub", "size": 12, "root": "<b64url>", "timestamp": "2026-11-23T10:00:00Z",
     "signature": "<b64url>"}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.merkle import HASH_SIZE
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.errors import CryptoError, ProtocolError

__all__ = ["SignedTreeHead", "sign_tree_head"]

_DOMAIN: Final = b"marac-hub tree head v1\n"
_FIELDS: Final = frozenset({"log", "size", "root", "timestamp", "signature"})
_MAX_SIZE: Final = 2**53 - 1


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    """A tree head and the hub's signature over it."""

    log: str
    size: int
    root: bytes
    timestamp: datetime
    signature: bytes

    def signed_bytes(self) -> bytes:
        """Exactly what the signature covers."""
        return _signed_bytes(self.log, self.size, self.root, self.timestamp)

    def verify(self, key: IdentityPublicKey) -> None:
        """Raise ``CryptoError`` ``bad-tree-head`` unless ``key`` signed this head."""
        if not key.verify(self.signature, self.signed_bytes()):
            raise CryptoError("tree head signature does not verify", code="bad-tree-head")

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "log": self.log,
            "size": self.size,
            "root": b64encode(self.root),
            "timestamp": _timestamp(self.timestamp),
            "signature": b64encode(self.signature),
        }

    @classmethod
    def from_json(cls, obj: object) -> SignedTreeHead:
        """Parse the wire form strictly (``ProtocolError`` ``bad-tree-head``)."""
        if not isinstance(obj, dict) or set(obj) != _FIELDS:
            raise ProtocolError(
                "a tree head has log, size, root, timestamp, signature", code="bad-tree-head"
            )
        log, size, when = obj["log"], obj["size"], obj["timestamp"]
        if not isinstance(log, str) or not 0 < len(log) <= 64:
            raise ProtocolError("tree head log must be a short string", code="bad-tree-head")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_SIZE:
            raise ProtocolError("tree head size must be a whole number", code="bad-tree-head")
        if not isinstance(when, str) or len(when) > 40:
            raise ProtocolError("tree head timestamp must be a string", code="bad-tree-head")
        try:
            timestamp = datetime.fromisoformat(when)
            root = b64decode(obj["root"], field="root")
            signature = b64decode(obj["signature"], field="signature")
        except (ValueError, ProtocolError):
            raise ProtocolError("malformed tree head", code="bad-tree-head") from None
        if timestamp.tzinfo is None or _timestamp(timestamp) != when:
            raise ProtocolError(
                "tree head timestamp must be UTC, to the second", code="bad-tree-head"
            )
        if len(root) != HASH_SIZE or len(signature) != 64:
            raise ProtocolError(
                "tree head root or signature has the wrong length", code="bad-tree-head"
            )
        return cls(log, size, root, timestamp, signature)


def sign_tree_head(
    identity: IdentityKeyPair, log: str, size: int, root: bytes, timestamp: datetime
) -> SignedTreeHead:
    """Sign a tree head; the timestamp is kept to the second, in UTC."""
    if len(root) != HASH_SIZE or not 0 <= size <= _MAX_SIZE:
        raise ValueError("a tree head needs a 32-byte root and a size within range")
    when = timestamp.astimezone(UTC).replace(microsecond=0)
    signature = identity.sign(_signed_bytes(log, size, root, when))
    return SignedTreeHead(log, size, root, when, signature)


def _timestamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed_bytes(log: str, size: int, root: bytes, timestamp: datetime) -> bytes:
    body = {"log": log, "root": b64encode(root), "size": size, "timestamp": _timestamp(timestamp)}
    return _DOMAIN + canonical_json(body)
