"""Signed receipts: an agency's acknowledgement of one envelope, by id and hash."""

from __future__ import annotations

from typing import Any

from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.errors import CryptoError, ProtocolError
from hub.protocol.messages import Receipt, parse_message, payload_of

__all__ = ["parse_signed_receipt", "receipt_bytes", "sign_receipt", "verify_receipt"]


def receipt_bytes(receipt: Receipt) -> bytes:
    """What a receipt's signature covers."""
    return canonical_json({"receipt": payload_of(receipt)})


def sign_receipt(identity: IdentityKeyPair, receipt: Receipt) -> dict[str, Any]:
    """The wire form ``{"receipt": …, "signature": b64url}``."""
    return {
        "receipt": payload_of(receipt),
        "signature": b64encode(identity.sign(receipt_bytes(receipt))),
    }


def parse_signed_receipt(obj: object) -> tuple[Receipt, bytes]:
    """Parse the wire form (``ProtocolError`` ``bad-receipt`` if malformed)."""
    if not isinstance(obj, dict) or set(obj) != {"receipt", "signature"}:
        raise ProtocolError("a receipt has receipt and signature", code="bad-receipt")
    try:
        receipt = parse_message(Receipt.message_type, obj["receipt"])
        signature = b64decode(obj["signature"], field="signature")
    except ProtocolError as exc:
        raise ProtocolError(f"malformed receipt: {exc.message}", code="bad-receipt") from None
    assert isinstance(receipt, Receipt)
    return receipt, signature


def verify_receipt(key: IdentityPublicKey, receipt: Receipt, signature: bytes) -> None:
    """Raise ``CryptoError`` ``bad-receipt`` unless ``key`` signed ``receipt``."""
    if not key.verify(signature, receipt_bytes(receipt)):
        raise CryptoError("receipt signature does not verify", code="bad-receipt")
