"""Signed key announcements: a new encryption key vouched for by an identity key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.crypto.keys import EncryptionPublicKey, IdentityKeyPair, IdentityPublicKey
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.errors import CryptoError, ProtocolError

if TYPE_CHECKING:  # the message models take a tenth of a second to build: used, then loaded
    from hub.protocol.messages import KeyAnnouncement

__all__ = ["DEFAULT_VALIDITY", "SignedKeyAnnouncement", "announce_key", "verify_announcement"]

DEFAULT_VALIDITY = timedelta(days=14)
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SignedKeyAnnouncement:
    """A key announcement and the identity key's signature over it."""

    announcement: KeyAnnouncement
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        """Wire form: ``{"announcement": {...}, "signature": b64url}``."""
        from hub.protocol.messages import payload_of  # noqa: PLC0415 (see TYPE_CHECKING)

        return {
            "announcement": payload_of(self.announcement),
            "signature": b64encode(self.signature),
        }

    @classmethod
    def from_json(cls, obj: object) -> SignedKeyAnnouncement:
        """Parse the wire form (``ProtocolError`` if malformed)."""
        from hub.protocol.messages import KeyAnnouncement, parse_message  # noqa: PLC0415 (see TYPE_CHECKING)

        if not isinstance(obj, dict) or set(obj) != {"announcement", "signature"}:
            raise ProtocolError("a signed key announcement has announcement and signature")
        message = parse_message(KeyAnnouncement.message_type, obj["announcement"])
        assert isinstance(message, KeyAnnouncement)
        return cls(message, b64decode(obj["signature"], field="signature"))


def _signed_bytes(announcement: KeyAnnouncement) -> bytes:
    from hub.protocol.messages import payload_of  # noqa: PLC0415 (see TYPE_CHECKING)

    return canonical_json({"key_announcement": payload_of(announcement)})


def announce_key(
    identity: IdentityKeyPair,
    party: str,
    key: EncryptionPublicKey,
    *,
    now: datetime,
    valid_for: timedelta = DEFAULT_VALIDITY,
) -> SignedKeyAnnouncement:
    """Announce ``key`` as ``party``'s newest encryption key, signed by ``identity``."""
    from hub.protocol.messages import KeyAnnouncement  # noqa: PLC0415 (see TYPE_CHECKING)

    announcement = KeyAnnouncement(
        party=party,
        identity_key=b64encode(identity.public.raw),
        encryption_key=b64encode(key.raw),
        suite=key.suite,
        created_at=now,
        expires_at=now + valid_for,
    )
    return SignedKeyAnnouncement(announcement, identity.sign(_signed_bytes(announcement)))


def verify_announcement(
    signed: SignedKeyAnnouncement,
    *,
    identity: IdentityPublicKey,
    now: datetime | None = None,
) -> EncryptionPublicKey:
    """Check ``signed`` was made by ``identity`` (and is current at ``now``); return the key.

    Raises :class:`CryptoError` with code ``bad-signature`` if it was not, or
    ``key-expired`` if ``now`` falls outside its validity.
    """
    ann = signed.announcement
    if b64decode(ann.identity_key, field="identity_key") != identity.raw:
        raise CryptoError("announcement names another identity key", code="bad-signature")
    if not identity.verify(signed.signature, _signed_bytes(ann)):
        raise CryptoError("key announcement signature does not verify", code="bad-signature")
    if now is not None and not (ann.created_at - _CLOCK_SKEW <= now < ann.expires_at):
        raise CryptoError("key announcement is not valid now", code="key-expired")
    try:
        return EncryptionPublicKey(ann.suite, b64decode(ann.encryption_key, field="key"))
    except ValueError:
        raise CryptoError("announced key is malformed", code="bad-signature") from None
