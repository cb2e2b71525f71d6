"""The local store: exactly-once by envelope id, payloads encrypted at rest, the pinned hub key."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agency_helpers import VICTIM, extract, opened
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agency_client.store import STORE_FILE, Store, StoreError, derive_store_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.protocol import CryptoError, sha256_hex

HUB = IdentityKeyPair.generate()
AGENCY = IdentityKeyPair.generate()
KEY = EncryptionKeyPair.generate()
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


def store_at(path: Path, identity: IdentityKeyPair | None = AGENCY) -> Store:
    return Store(path / STORE_FILE, derive_store_key(identity) if identity else None)


def test_store_key_is_hkdf_sha256_of_the_identity_seed() -> None:
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"marac-hub agency store v1"
    ).derive(AGENCY.private_bytes())
    assert derive_store_key(AGENCY) == expected
    assert derive_store_key(IdentityKeyPair.generate()) != expected


def test_duplicates_are_dropped_across_reopen(tmp_path: Path) -> None:
    message = opened(HUB, KEY, message=extract())
    with store_at(tmp_path) as store:
        assert store.add(message, "ab" * 32, NOW)
        assert not store.add(message, "cd" * 32, NOW + timedelta(hours=1))
    with store_at(tmp_path) as store:
        assert not store.add(message, "cd" * 32, NOW + timedelta(days=1))
        [info] = store.messages()
        assert info.envelope_id == message.header.id
        assert info.envelope_sha256 == "ab" * 32  # the first copy is kept
        assert info.received_at == "2026-11-23T10:30:00.000000Z"
        assert info.case_ref == "M-2026-0001" and info.type == "case_extract"
        assert store.message(message.header.id).payload == message.payload


def test_acknowledged_and_handed_flags_survive_a_restart(tmp_path: Path) -> None:
    first, second = opened(HUB, KEY), opened(HUB, KEY)
    with store_at(tmp_path) as store:
        store.add(first, "00" * 32, NOW)
        store.add(second, "11" * 32, NOW + timedelta(seconds=1))
        store.mark_acknowledged([first.header.id], NOW)
        store.mark_handed(second.header.id, NOW)
    with store_at(tmp_path) as store:
        assert [m.envelope_id for m in store.unacknowledged()] == [second.header.id]
        assert [m.envelope_id for m in store.unhanded()] == [first.header.id]
        store.mark_ack_refused(second.header.id, "unknown-envelope")
        assert store.unacknowledged() == []
        # Marking again keeps the first time.
        store.mark_handed(second.header.id, NOW + timedelta(days=1))
        assert store.info(second.header.id).handed_at == "2026-11-23T10:30:00.000000Z"  # type: ignore[union-attr]


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_payload_is_encrypted_at_rest(tmp_path: Path) -> None:
    message = opened(HUB, KEY, message=extract())
    needles = [VICTIM.encode(), b"Quennell", VICTIM.encode("utf-16-le")]
    with store_at(tmp_path) as store:
        store.add(message, sha256_hex(b"x"), NOW)
        live = _all_bytes(tmp_path)  # the database and its write-ahead log, while open
        assert not any(n in live for n in needles)
    at_rest = _all_bytes(tmp_path)
    assert b"SQLite format 3" in at_rest
    assert not any(n in at_rest for n in needles)
    assert stat.S_IMODE((tmp_path / STORE_FILE).stat().st_mode) == 0o600


def test_a_store_opens_only_under_its_own_identity(tmp_path: Path) -> None:
    message = opened(HUB, KEY, message=extract())
    with store_at(tmp_path) as store:
        store.add(message, "00" * 32, NOW)
    with pytest.raises(CryptoError) as caught:
        store_at(tmp_path, IdentityKeyPair.generate())
    assert caught.value.code == "wrong-store-key"
    # Without a key, metadata is readable and bodies are not.
    with store_at(tmp_path, None) as store:
        assert [m.envelope_id for m in store.messages()] == [message.header.id]
        with pytest.raises(StoreError):
            store.message(message.header.id)


def test_a_body_moved_to_another_row_does_not_decrypt(tmp_path: Path) -> None:
    first, second = opened(HUB, KEY, message=extract()), opened(HUB, KEY)
    with store_at(tmp_path) as store:
        store.add(first, "00" * 32, NOW)
        store.add(second, "11" * 32, NOW)
    db = sqlite3.connect(tmp_path / STORE_FILE)
    with db:
        db.execute(
            "UPDATE messages SET body = (SELECT body FROM messages WHERE envelope_id = ?) "
            "WHERE envelope_id = ?",
            (first.header.id, second.header.id),
        )
    db.close()
    with store_at(tmp_path) as store:
        assert store.message(first.header.id).payload == first.payload
        with pytest.raises(CryptoError) as caught:
            store.message(second.header.id)
        assert caught.value.code == "store-damaged"


def test_the_hub_key_is_pinned_once(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        assert store.hub_key() is None
        store.pin_hub_key(HUB.public, NOW)
        store.pin_hub_key(HUB.public, NOW)  # the same key again is fine
        with pytest.raises(CryptoError) as caught:
            store.pin_hub_key(IdentityKeyPair.generate().public, NOW)
        assert caught.value.code == "hub-key-changed"
    with store_at(tmp_path, None) as store:
        assert store.hub_key() == HUB.public


def test_unknown_message_and_missing_settings(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        with pytest.raises(StoreError) as caught:
            store.message("01JDZZZZZZZZZZZZZZZZZZZZZZ")
        assert caught.value.code == "unknown-message"
        with pytest.raises(StoreError, match="agency-client enrol"):
            store.require_config("agency_id")
        store.set_config("agency_id", "police-north")
        assert store.require_config("agency_id") == "police-north"


def test_key_records(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        store.add_key("aa" * 32, "s", NOW, announced_at=NOW)
        store.add_key("bb" * 32, "s", NOW + timedelta(days=7), announced_at=None)
        store.add_key("aa" * 32, "s", NOW + timedelta(days=9), announced_at=None)  # ignored
        store.mark_key_announced("bb" * 32, NOW + timedelta(days=7, minutes=1))
        store.mark_key_destroyed("aa" * 32, NOW + timedelta(days=8))
        store.add_key("cc" * 32, "s", NOW + timedelta(days=14), announced_at=None)
        store.forget_key("cc" * 32)
        store.forget_key("bb" * 32)  # announced: kept
        old, new = store.key_records()
    assert (old.fingerprint, old.created_at, old.destroyed_at) == (
        "aa" * 32,
        NOW,
        NOW + timedelta(days=8),
    )
    assert (new.fingerprint, new.announced_at) == ("bb" * 32, NOW + timedelta(days=7, minutes=1))


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    store_at(tmp_path).close()
    db = sqlite3.connect(tmp_path / STORE_FILE)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        store_at(tmp_path)


def test_a_store_left_world_readable_is_narrowed_to_its_owner(tmp_path: Path) -> None:
    """A store made by an older client, or copied with ``cp``, may be 0644: opening it
    narrows the file and SQLite's side files (which take the file's mode) to 0600."""
    with store_at(tmp_path) as store:
        store.add(opened(HUB, KEY, message=extract()), sha256_hex(b"y"), NOW)
    path = tmp_path / STORE_FILE
    wal = path.with_name(path.name + "-wal")
    path.chmod(0o644)
    wal.touch()
    wal.chmod(0o644)
    with store_at(tmp_path):
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.is_file()}
    assert modes and all(mode == 0o600 for mode in modes.values()), modes
