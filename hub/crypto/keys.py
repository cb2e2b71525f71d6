"""Identity (Ed25519) and encryption (X25519, ML-KEM-768+X25519) key pairs.

A key is named by its fingerprint: the hex SHA-256 of its raw public bytes. For the
hybrid suite the raw public bytes are the ML-KEM-768 encapsulation key followed by the
X25519 public key; the private half is the 64-byte ML-KEM seed followed by the X25519
private key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from hub.protocol.envelope import SUITE_HYBRID, SUITE_X25519, SUITES

__all__ = [
    "EncryptionKeyPair",
    "EncryptionPublicKey",
    "IdentityKeyPair",
    "IdentityPublicKey",
    "fingerprint",
]

_MLKEM_PUBLIC: Final = 1184
_MLKEM_SEED: Final = 64
_X25519: Final = 32


def fingerprint(public_bytes: bytes) -> str:
    """Hex SHA-256 of a key's raw public bytes."""
    return hashlib.sha256(public_bytes).hexdigest()


@dataclass(frozen=True, slots=True, eq=False)
class IdentityPublicKey:
    """The public half of an Ed25519 identity key."""

    key: ed25519.Ed25519PublicKey
    raw: bytes = field(init=False)
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        raw = self.key.public_bytes_raw()
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "fingerprint", fingerprint(raw))

    @classmethod
    def from_bytes(cls, raw: bytes) -> IdentityPublicKey:
        """Load from 32 raw bytes; ``ValueError`` if they are not a key."""
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(ed25519.Ed25519PublicKey.from_public_bytes(raw))

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True if ``signature`` is this key's signature of ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdentityPublicKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass(frozen=True, slots=True, eq=False)
class IdentityKeyPair:
    """An Ed25519 signing key: who a party is."""

    private: ed25519.Ed25519PrivateKey
    public: IdentityPublicKey = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public", IdentityPublicKey(self.private.public_key()))

    @classmethod
    def generate(cls) -> IdentityKeyPair:
        """A fresh random identity key."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> IdentityKeyPair:
        """Load from the 32-byte seed."""
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        """The 32-byte seed (handle with care: store only encrypted)."""
        return self.private.private_bytes_raw()

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public key."""
        return self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        return self.private.sign(message)


_HpkePublic: TypeAlias = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
_HpkePrivate: TypeAlias = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


_PROBE: Final = x25519.X25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _refuse_low_order(raw: bytes) -> None:
    """A low-order X25519 point gives an all-zero secret with every private key."""
    try:
        _PROBE.exchange(x25519.X25519PublicKey.from_public_bytes(raw))
    except ValueError:
        raise ValueError("X25519 public key is a low-order point") from None


@dataclass(frozen=True, slots=True, eq=False)
class EncryptionPublicKey:
    """The public half of an encryption key, for one HPKE suite."""

    suite: str
    raw: bytes
    key: _HpkePublic = field(init=False)
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        if self.suite == SUITE_X25519:
            if len(self.raw) != _X25519:
                raise ValueError("an X25519 public key is 32 bytes")
            key: _HpkePublic = x25519.X25519PublicKey.from_public_bytes(self.raw)
        elif self.suite == SUITE_HYBRID:
            if len(self.raw) != _MLKEM_PUBLIC + _X25519:
                raise ValueError("an ML-KEM-768+X25519 public key is 1216 bytes")
            key = hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:_MLKEM_PUBLIC]),
                x25519.X25519PublicKey.from_public_bytes(self.raw[_MLKEM_PUBLIC:]),
            )
        else:
            raise ValueError(f"unknown suite {self.suite!r}")
        _refuse_low_order(self.raw[-_X25519:])
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "fingerprint", fingerprint(self.raw))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EncryptionPublicKey)
            and other.suite == self.suite
            and other.raw == self.raw
        )

    def __hash__(self) -> int:
        return hash((self.suite, self.raw))


@dataclass(frozen=True, slots=True, eq=False)
class EncryptionKeyPair:
    """An HPKE recipient key (rotated); ``private_bytes`` round-trips through ``load``."""

    suite: str
    secret: bytes
    private: _HpkePrivate = field(init=False)
    public: EncryptionPublicKey = field(init=False)

    def __post_init__(self) -> None:
        if self.suite == SUITE_X25519:
            if len(self.secret) != _X25519:
                raise ValueError("an X25519 private key is 32 bytes")
            xkey = x25519.X25519PrivateKey.from_private_bytes(self.secret)
            private: _HpkePrivate = xkey
            raw = xkey.public_key().public_bytes_raw()
        elif self.suite == SUITE_HYBRID:
            if len(self.secret) != _MLKEM_SEED + _X25519:
                raise ValueError("an ML-KEM-768+X25519 private key is 96 bytes")
            mkey = mlkem.MLKEM768PrivateKey.from_seed_bytes(self.secret[:_MLKEM_SEED])
            xkey = x25519.X25519PrivateKey.from_private_bytes(self.secret[_MLKEM_SEED:])
            private = hpke.MLKEM768X25519PrivateKey(mkey, xkey)
            raw = mkey.public_key().public_bytes_raw() + xkey.public_key().public_bytes_raw()
        else:
            raise ValueError(f"unknown suite {self.suite!r}")
        object.__setattr__(self, "private", private)
        object.__setattr__(self, "public", EncryptionPublicKey(self.suite, raw))

    @classmethod
    def generate(cls, suite: str = SUITE_X25519) -> EncryptionKeyPair:
        """A fresh random key for ``suite``."""
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}")
        xraw = x25519.X25519PrivateKey.generate().private_bytes_raw()
        if suite == SUITE_X25519:
            return cls(suite, xraw)
        return cls(suite, mlkem.MLKEM768PrivateKey.generate().private_bytes_raw() + xraw)

    def private_bytes(self) -> bytes:
        """The private key bytes (handle with care: store only encrypted)."""
        return self.secret

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public key."""
        return self.public.fingerprint
