"""Field encryption at rest under per-record data keys, and crypto-shredding."""

from __future__ import annotations

import pytest

from hub.crypto.at_rest import DataKeyRing, KeyEncryptionKey
from hub.protocol import CryptoError

NAME = b"Jane Example"


def _ring() -> tuple[DataKeyRing, dict[str, bytes], KeyEncryptionKey]:
    kek = KeyEncryptionKey.generate()
    store: dict[str, bytes] = {}
    ring = DataKeyRing(kek, store)
    ring.create("case-1")
    ring.create("case-2")
    return ring, store, kek


def test_field_round_trip_and_no_plaintext_in_store() -> None:
    ring, store, _ = _ring()
    blob = ring.encrypt("case-1", "victim.name", NAME)
    assert NAME not in blob
    assert ring.decrypt("case-1", "victim.name", blob) == NAME
    assert all(len(wrapped) == 1 + 12 + 32 + 16 for wrapped in store.values())


def test_value_cannot_be_moved_to_another_field_or_record() -> None:
    ring, _, _ = _ring()
    blob = ring.encrypt("case-1", "victim.name", NAME)
    with pytest.raises(CryptoError):
        ring.decrypt("case-1", "perpetrator.name", blob)
    with pytest.raises(CryptoError):
        ring.decrypt("case-2", "victim.name", blob)


def test_tampered_value_is_refused() -> None:
    ring, _, _ = _ring()
    blob = bytearray(ring.encrypt("case-1", "victim.name", NAME))
    blob[-1] ^= 1
    with pytest.raises(CryptoError):
        ring.decrypt("case-1", "victim.name", bytes(blob))
    with pytest.raises(CryptoError):
        ring.decrypt("case-1", "victim.name", b"\x01short")


def test_destroy_makes_a_record_unreadable_and_spares_others() -> None:
    ring, store, kek = _ring()
    one = ring.encrypt("case-1", "victim.name", NAME)
    two = ring.encrypt("case-2", "victim.name", NAME)
    ring.destroy("case-1")
    assert ring.is_destroyed("case-1")
    with pytest.raises(CryptoError) as info:
        ring.decrypt("case-1", "victim.name", one)
    assert info.value.code == "key-destroyed"
    # A fresh ring with the same KEK and store (a restarted hub) cannot read it either.
    with pytest.raises(CryptoError):
        DataKeyRing(kek, store).decrypt("case-1", "victim.name", one)
    assert ring.decrypt("case-2", "victim.name", two) == NAME


def test_wrapped_key_needs_the_right_kek_and_record() -> None:
    ring, store, kek = _ring()
    blob = ring.encrypt("case-1", "victim.name", NAME)
    with pytest.raises(CryptoError):
        DataKeyRing(KeyEncryptionKey.generate(), store).decrypt("case-1", "victim.name", blob)
    store["case-2"] = store["case-1"]  # a wrapped key copied under another record id
    with pytest.raises(CryptoError) as info:
        DataKeyRing(kek, store).decrypt("case-2", "victim.name", blob)
    assert info.value.code == "crypto-error"  # the wrapped key is bound to its record


def test_kek_rotation_keeps_data_readable() -> None:
    ring, store, old = _ring()
    blob = ring.encrypt("case-1", "victim.name", NAME)
    new = KeyEncryptionKey.generate()
    ring.rewrap(new)
    assert DataKeyRing(new, store).decrypt("case-1", "victim.name", blob) == NAME
    with pytest.raises(CryptoError):
        DataKeyRing(old, store).decrypt("case-1", "victim.name", blob)


def test_misuse() -> None:
    ring, _, _ = _ring()
    with pytest.raises(ValueError):
        ring.create("case-1")
    with pytest.raises(ValueError):
        KeyEncryptionKey(b"short")
