"""Signed receipts: an agency's acknowledgement of one envelope, by id and hash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.signature_checker import SignatureChecker
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.errors import CryptoError, ProtocolError
from hub.protocol.messages import Receipt, parse_message, payload_of

__all__ = [
    "parse_signed_receipt",
    "receipt_bytes",
    "sign_receipt",
    "verify_receipt",
    "verify_receipts",
]


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


async def verify_receipts(
    key: IdentityPublicKey,
    signed: Sequence[tuple[Receipt, bytes]],
    checker: SignatureChecker | None = None,
) -> None:
    """Raise ``CryptoError`` ``bad-receipt`` unless ``key`` signed every receipt; with a
    ``checker``, a large batch is verified in its helper process."""
    if checker is None:
        for receipt, signature in signed:
            verify_receipt(key, receipt, signature)
        return
    answers = await checker.verify([(key, s, receipt_bytes(r)) for r, s in signed])
    if not all(answers):
        raise CryptoError("receipt signature does not verify", code="bad-receipt")
