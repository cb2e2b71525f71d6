"""Field-level encryption at rest with per-record data keys (crypto-shredding).

Each record (a case) has its own random data key, stored only wrapped by the hub's
key-encryption key (KEK). Fields are encrypted with ChaCha20-Poly1305 under the data
key, bound to their record and field name. ``destroy`` removes the wrapped data key:
every field of that record becomes unreadable, whoever holds the KEK or the database.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from hub.protocol.errors import CryptoError

__all__ = ["DataKeyRing", "KeyEncryptionKey"]

_KEY: Final = 32
_NONCE: Final = 12
_VERSION: Final = b"\x01"


class KeyEncryptionKey:
    """The hub's key-encryption key: wraps and unwraps per-record data keys."""

    __slots__ = ("_aead", "_raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != _KEY:
            raise ValueError("a key-encryption key is 32 bytes")
        self._raw = raw
        self._aead = ChaCha20Poly1305(raw)

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        """A fresh random KEK."""
        return cls(ChaCha20Poly1305.generate_key())

    def raw(self) -> bytes:
        """The KEK bytes (store only under a passphrase or in a key manager)."""
        return self._raw

    def wrap(self, data_key: bytes, record_id: str) -> bytes:
        """Encrypt ``data_key`` for ``record_id``."""
        return _seal(self._aead, data_key, b"dek\x00" + record_id.encode())

    def unwrap(self, wrapped: bytes, record_id: str) -> bytes:
        """Decrypt a wrapped data key (``CryptoError`` if it is not ``record_id``'s)."""
        return _unseal(self._aead, wrapped, b"dek\x00" + record_id.encode())


def _seal(aead: ChaCha20Poly1305, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def _unseal(aead: ChaCha20Poly1305, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise CryptoError("encrypted value is malformed")
    try:
        return aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
    except InvalidTag:
        raise CryptoError("encrypted value does not authenticate") from None


class DataKeyRing:
    """Per-record data keys kept wrapped in ``store`` (any mapping: a dict or a table)."""

    def __init__(self, kek: KeyEncryptionKey, store: MutableMapping[str, bytes]) -> None:
        self._kek = kek
        self._store = store
        self._cache: dict[str, ChaCha20Poly1305] = {}

    def create(self, record_id: str) -> None:
        """Make a data key for a new record."""
        if record_id in self._store:
            raise ValueError(f"record {record_id!r} already has a data key")
        self._store[record_id] = self._kek.wrap(ChaCha20Poly1305.generate_key(), record_id)

    def _aead(self, record_id: str) -> ChaCha20Poly1305:
        aead = self._cache.get(record_id)
        if aead is None:
            wrapped = self._store.get(record_id)
            if wrapped is None:
                raise CryptoError("the record's data key was destroyed", code="key-destroyed")
            aead = ChaCha20Poly1305(self._kek.unwrap(wrapped, record_id))
            self._cache[record_id] = aead
        return aead

    def encrypt(self, record_id: str, field: str, plaintext: bytes) -> bytes:
        """Encrypt one field of a record."""
        return _seal(self._aead(record_id), plaintext, _field_aad(record_id, field))

    def decrypt(self, record_id: str, field: str, blob: bytes) -> bytes:
        """Decrypt one field; ``key-destroyed`` once the record is shredded."""
        return _unseal(self._aead(record_id), blob, _field_aad(record_id, field))

    def destroy(self, record_id: str) -> None:
        """Crypto-shred a record: forget its data key everywhere."""
        self._cache.pop(record_id, None)
        self._store.pop(record_id, None)

    def is_destroyed(self, record_id: str) -> bool:
        """True once ``destroy`` has run for ``record_id`` (or it never existed)."""
        return record_id not in self._store

    def rewrap(self, new_kek: KeyEncryptionKey) -> None:
        """Re-wrap every data key under ``new_kek`` (KEK rotation)."""
        for record_id in list(self._store):
            data_key = self._kek.unwrap(self._store[record_id], record_id)
            self._store[record_id] = new_kek.wrap(data_key, record_id)
        self._kek = new_kek
        self._cache.clear()


def _field_aad(record_id: str, field: str) -> bytes:
    return b"field\x00" + record_id.encode() + b"\x00" + field.encode()
