"""Identity (Ed25519) and encryption (X25519, ML-KEM-768+X25519) key pairs.

A key is named by its fingerprint: the hex SHA-256 of its raw public bytes. For the
hybrid suite the raw public bytes are the ML-KEM-768 encapsulation key followed by the
X25519 public key; the private half is the 64-byte ML-KEM seed followed by the X25519
private key.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

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
_ED25519: Final = 32
_ED25519_SIGNATURE: Final = 64


def fingerprint(public_bytes: bytes) -> str:
    """Hex SHA-256 of a key's raw public bytes."""
    return hashlib.sha256(public_bytes).hexdigest()


# Ed25519 runs on libsodium (PyNaCl's nacl.bindings) where that is faster, and on OpenSSL
# (cryptography) for long messages, where OpenSSL's SHA-512 is: the crossovers measured
# here are about 6 KiB for signing (it hashes the message twice) and 48 KiB for verifying.
# Signatures are deterministic (RFC 8032), so both sign alike; verification on the OpenSSL
# path first makes the checks libsodium makes and OpenSSL does not (below), so a
# signature gets the same verdict whatever its message's length.
_SODIUM_SIGN_MAX: Final = 6 * 1024
_SODIUM_VERIFY_MAX: Final = 48 * 1024
_P: Final = 2**255 - 19
_L: Final = 2**252 + 27742317777372353535851937790883648493  # order of the base point
# libsodium's ge25519_has_small_order blocklist: every point of order 1, 2, 4 or 8 (its y,
# sign bit cleared), and the non-canonical encodings p and p + 1 of y = 0 and y = 1.
_SMALL_ORDER: Final = frozenset(
    bytes.fromhex(y)
    for y in (
        "00" * 32,  # y = 0, order 4
        "01" + "00" * 31,  # y = 1, the identity
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "ec" + "ff" * 30 + "7f",  # y = p - 1, order 2
        "ed" + "ff" * 30 + "7f",  # y = p, i.e. 0
        "ee" + "ff" * 30 + "7f",  # y = p + 1, i.e. 1
    )
)


def _small_order(point: bytes) -> bool:
    """libsodium's ``ge25519_has_small_order`` (the sign bit of x is ignored)."""
    return point[:31] + bytes((point[31] & 0x7F,)) in _SMALL_ORDER


def _canonical_point(point: bytes) -> bool:
    """libsodium's ``ge25519_is_canonical``: y (sign bit cleared) is below p."""
    return int.from_bytes(point, "little") & ((1 << 255) - 1) < _P


@dataclass(frozen=True, slots=True, eq=False)
class IdentityPublicKey:
    """The public half of an Ed25519 identity key (32 raw bytes).

    Verification is libsodium's (``crypto_sign_open``), about twice as fast as OpenSSL's
    for short messages, and stricter: besides a non-canonical ``S`` (which both refuse),
    it refuses a public key or ``R`` of small order and a non-canonical public key
    encoding, all of which OpenSSL accepts; with such a key one signature can be valid
    for every message. No honest key or signature is one. Long messages go to OpenSSL
    after those same checks. On every Wycheproof Ed25519 vector the two libraries agree;
    tests/crypto/test_keys.py pins the stricter cases on both paths.
    """

    raw: bytes
    fingerprint: str = field(init=False)
    _strict: bool = field(init=False, repr=False)  # passes libsodium's public key checks
    _openssl: ed25519.Ed25519PublicKey | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if type(self.raw) is not bytes or len(self.raw) != _ED25519:
            raise ValueError("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "fingerprint", fingerprint(self.raw))
        strict = _canonical_point(self.raw) and not _small_order(self.raw)
        object.__setattr__(self, "_strict", strict)

    @classmethod
    def from_bytes(cls, raw: bytes) -> IdentityPublicKey:
        """Load from 32 raw bytes; ``ValueError`` if they are not a key."""
        return cls(bytes(raw))

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True if ``signature`` is this key's signature of ``message``."""
        if len(signature) != _ED25519_SIGNATURE:
            return False  # crypto_sign_open would read a longer one into the message
        if len(message) > _SODIUM_VERIFY_MAX:
            return self._verify_openssl(signature, message)
        try:
            crypto_sign_open(b"".join((signature, message)), self.raw)
        except BadSignatureError:
            return False
        return True

    def _verify_openssl(self, signature: bytes, message: bytes) -> bool:
        # What libsodium's crypto_sign_verify_detached refuses before it checks the
        # equation (both then compute R' = [S]B - [k]A and compare its encoding with R).
        if (
            not self._strict
            or _small_order(signature[:32])
            or int.from_bytes(signature[32:], "little") >= _L
        ):
            return False
        key = self._openssl
        if key is None:
            key = ed25519.Ed25519PublicKey.from_public_bytes(self.raw)
            object.__setattr__(self, "_openssl", key)
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdentityPublicKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass(frozen=True, slots=True, eq=False)
class IdentityKeyPair:
    """An Ed25519 signing key: who a party is.

    ``seed`` is the 32-byte private key of RFC 8032. libsodium's 64-byte form (seed, then
    public key) is derived once and kept, as is OpenSSL's key object once used, so
    signing parses nothing.
    """

    seed: bytes = field(repr=False)
    public: IdentityPublicKey = field(init=False)
    _secret: bytes = field(init=False, repr=False)
    _openssl: ed25519.Ed25519PrivateKey | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if type(self.seed) is not bytes or len(self.seed) != _ED25519:
            raise ValueError("an Ed25519 private key is a 32-byte seed")
        public, secret = crypto_sign_seed_keypair(self.seed)
        object.__setattr__(self, "public", IdentityPublicKey(public))
        object.__setattr__(self, "_secret", secret)

    @classmethod
    def generate(cls) -> IdentityKeyPair:
        """A fresh random identity key."""
        return cls(os.urandom(_ED25519))

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> IdentityKeyPair:
        """Load from the 32-byte seed."""
        return cls(bytes(raw))

    def private_bytes(self) -> bytes:
        """The 32-byte seed (handle with care: store only encrypted)."""
        return self.seed

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public key."""
        return self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` (64 bytes)."""
        if len(message) <= _SODIUM_SIGN_MAX:
            return crypto_sign(message, self._secret)[:_ED25519_SIGNATURE]
        key = self._openssl
        if key is None:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(self.seed)
            object.__setattr__(self, "_openssl", key)
        return key.sign(message)


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

    @staticmethod
    def known(suite: str, raw: bytes) -> EncryptionPublicKey:
        """The same key as ``EncryptionPublicKey(suite, raw)``, checked once per process:
        a key read back on every disclosure is parsed and probed the first time only."""
        return _known_key(suite, bytes(raw))


@functools.lru_cache(maxsize=4096)
def _known_key(suite: str, raw: bytes) -> EncryptionPublicKey:
    return EncryptionPublicKey(suite, raw)


@dataclass(frozen=True, slots=True, eq=False)
class EncryptionKeyPair:
    """An HPKE recipient key (rotated); ``private_bytes`` round-trips through ``load``."""

    suite: str
    secret: bytes = field(repr=False)
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
