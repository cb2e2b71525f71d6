"""Sealing and opening envelopes: sign-then-encrypt, HPKE base mode.

``seal`` signs the RFC 8785 canonical JSON of ``{"header", "payload"}`` with the
sender's Ed25519 identity key, then encrypts header, payload and signature to the
recipient's encryption key with HPKE (RFC 9180), passing the canonical header as
``info`` so a header cannot be moved onto another ciphertext.

``open_envelope`` (also exported as ``open``) checks the header names the expected
keys, decrypts, checks the inner header is the outer one and verifies the signature.
Whatever fails, it raises one opaque :class:`InvalidEnvelope`; the reason goes to this
module's logger at DEBUG, never to the peer.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives import hpke
from ulid import ULID

from hub.crypto.keys import (
    EncryptionKeyPair,
    EncryptionPublicKey,
    IdentityKeyPair,
    IdentityPublicKey,
)
from hub.protocol.canonical import b64decode, b64encode_ascii, canonical_json
from hub.protocol.envelope import (
    SUITE_HYBRID,
    SUITE_X25519,
    Envelope,
    Header,
    format_timestamp,
    loads_strict,
)
from hub.protocol.errors import HubError, InvalidEnvelope, ProtocolError
from hub.protocol.messages import MESSAGE_TYPES, Message, parse_message, payload_of

__all__ = ["MAX_PAYLOAD_BYTES", "OpenedEnvelope", "open", "open_envelope", "seal"]

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES: Final = 8 * 1024 * 1024
_SIGNED_OPEN: Final = b'{"header":'
_SIGNED_PAYLOAD: Final = b',"payload":'
_SIGNATURE_OPEN: Final = b',"signature":"'
_SUFFIX_BYTES: Final = len(_SIGNATURE_OPEN) + 86 + len(b'"}')  # 86 = b64url of 64 bytes
_HPKE: Final[dict[str, hpke.Suite]] = {
    SUITE_X25519: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305),
    SUITE_HYBRID: hpke.Suite(
        hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305
    ),
}


def hpke_suite(suite: str) -> hpke.Suite:
    """The ``cryptography`` HPKE suite object for a wire suite name."""
    return _HPKE[suite]


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A verified, decrypted envelope."""

    header: Header
    payload: dict[str, Any]
    signature: bytes

    def message(self) -> Message:
        """The payload as its typed message (``ProtocolError`` if it does not fit)."""
        return parse_message(self.header.type, self.payload)


# Base32 (RFC 4648) to Crockford's alphabet, which ULIDs use.
_CROCKFORD: Final = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


def _ulid_text(raw: bytes) -> str:
    """``str(ULID(raw))`` by C base32: 4 zero bytes in front make 160 bits, whose first
    6 characters are zeros and whose last 26 are the ULID's 130-bit big-endian form."""
    return base64.b32encode(bytes(4) + raw)[6:].translate(_CROCKFORD).decode("ascii")


def _new_envelope_id(now: datetime) -> str:
    # python-ulid's generator: monotonic within a millisecond, as before.
    return _ulid_text(ULID.from_datetime(now).bytes)


def seal(
    payload: Message | Mapping[str, Any],
    *,
    sender: IdentityKeyPair,
    sender_id: str,
    recipient_id: str,
    recipient_key: EncryptionPublicKey,
    now: datetime,
    case_ref: str | None = None,
    message_type: str | None = None,
    envelope_id: str | None = None,
    payload_json: bytes | None = None,
) -> Envelope:
    """Sign ``payload`` as ``sender`` and encrypt it to ``recipient_key``.

    ``payload`` is a typed message, or an already-rendered JSON object with its
    ``message_type`` (adapters render some agencies' payloads in other formats).
    ``payload_json``: the payload's canonical JSON, when the caller seals one payload
    to many recipients and has it already (it must be ``canonical_json`` of the payload).
    """
    if isinstance(payload, Message):
        if message_type not in (None, payload.message_type):
            raise ValueError("message_type disagrees with the message")
        message_type = payload.message_type
    elif message_type is None:
        raise ValueError("message_type is required for a raw payload")
    if message_type not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {message_type!r}")
    header = Header.build(  # the same strict checks a receiver applies
        id=envelope_id or _new_envelope_id(now),
        type=message_type,
        sender=sender_id,
        recipient=recipient_id,
        sent_at=format_timestamp(now),
        case_ref=case_ref,
        sender_key=sender.fingerprint,
        recipient_key=recipient_key.fingerprint,
        suite=recipient_key.suite,
    )
    header_c = header.canonical()
    if payload_json is not None:
        payload_c = payload_json
    else:
        body = payload_of(payload) if isinstance(payload, Message) else dict(payload)
        payload_c = canonical_json(body)
    if len(payload_c) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("payload is too large to seal", code="payload-too-large")
    # RFC 8785 of {"header": H, "payload": P}: keys are ASCII and already in order, and
    # both members are canonical, so concatenation is the canonical form. The plaintext
    # adds the signature as a third member the same way.
    signed = b"".join((_SIGNED_OPEN, header_c, _SIGNED_PAYLOAD, payload_c, b"}"))
    signature = sender.sign(signed)
    plaintext = b"".join(
        (
            _SIGNED_OPEN,
            header_c,
            _SIGNED_PAYLOAD,
            payload_c,
            _SIGNATURE_OPEN,
            b64encode_ascii(signature),
            b'"}',
        )
    )
    ciphertext = _HPKE[header.suite].encrypt(plaintext, recipient_key.key, info=header_c)
    return Envelope(header=header, ciphertext=ciphertext)


def open_envelope(
    envelope: Envelope,
    *,
    recipient: EncryptionKeyPair,
    sender: IdentityPublicKey,
) -> OpenedEnvelope:
    """Decrypt and verify ``envelope``; raise :class:`InvalidEnvelope` on any failure."""
    try:
        return _open(envelope, recipient, sender)
    except InvalidEnvelope:
        raise
    except (HubError, ValueError, TypeError, KeyError) as exc:
        log.debug("envelope %s refused: %s", envelope.header.id, type(exc).__name__)
        raise InvalidEnvelope() from None
    except Exception as exc:  # cryptography raises library-specific errors on bad input
        log.debug("envelope %s refused: %s", envelope.header.id, type(exc).__name__)
        raise InvalidEnvelope() from None


open = open_envelope  # DESIGN.md names the pair seal/open


def _refuse(envelope: Envelope, reason: str) -> InvalidEnvelope:
    log.debug("envelope %s refused: %s", envelope.header.id, reason)
    return InvalidEnvelope()


def _open(
    envelope: Envelope, recipient: EncryptionKeyPair, sender: IdentityPublicKey
) -> OpenedEnvelope:
    header = envelope.header
    if header.recipient_key != recipient.fingerprint or header.suite != recipient.suite:
        raise _refuse(envelope, "not sealed to this recipient key")
    if header.sender_key != sender.fingerprint:
        raise _refuse(envelope, "not from the expected sender key")
    header_c = header.canonical()
    plaintext = _HPKE[header.suite].decrypt(envelope.ciphertext, recipient.private, info=header_c)
    # The plaintext is exactly {"header":H,"payload":P,"signature":"S"} in canonical form:
    # check the frame byte for byte and verify the signature over the bytes as sent, so
    # nothing is re-encoded and no re-encoded variant of a signed payload is accepted.
    start = len(_SIGNED_OPEN) + len(header_c) + len(_SIGNED_PAYLOAD)  # of P
    cut = len(plaintext) - _SUFFIX_BYTES  # end of P
    if (
        cut <= start
        or not plaintext.startswith(_SIGNED_OPEN)
        or not plaintext.startswith(header_c, len(_SIGNED_OPEN))
        or not plaintext.startswith(_SIGNED_PAYLOAD, start - len(_SIGNED_PAYLOAD))
        or not plaintext.startswith(_SIGNATURE_OPEN, cut)
        or not plaintext.endswith(b'"}')
    ):
        raise _refuse(envelope, "inner frame")
    text = plaintext[cut + len(_SIGNATURE_OPEN) : -2].decode("ascii")
    signature = b64decode(text, field="signature")
    if not sender.verify(signature, plaintext[:cut] + b"}"):
        raise _refuse(envelope, "signature does not verify")
    payload = loads_strict(plaintext[start:cut])
    if not isinstance(payload, dict):
        raise _refuse(envelope, "payload is not an object")
    return OpenedEnvelope(header=header, payload=payload, signature=signature)
